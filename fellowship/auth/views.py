"""Account pages: thin views over fellowship.auth.services."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from fellowship.auth import bp, invitations, services, tokens
from fellowship.auth.forms import (
    AcceptInvitationForm,
    ApiTokenForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    LogoutEverywhereForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
    RevokeTokenForm,
)
from fellowship.auth.sessions import forget_remember_cookie, keep_this_browser_logged_in, log_out_this_browser
from fellowship.auth.tokens import TokenExpired, TokenInvalid
from fellowship.errors import DomainError, FieldError
from fellowship.extensions import db, limiter, remote_address_and_email
from fellowship.i18n import DEFAULT_LOCALE
from fellowship.i18n.texts import current_locale
from fellowship.models import utcnow
from fellowship.navigation import safe_local_path
from fellowship.timezones import zone_names


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            services.register_user(form.email.data or "", form.full_name.data or "", form.password.data or "")
        except DomainError as exc:
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            return redirect(url_for("auth.check_email", email=form.email.data))
    return render_template("auth/register.html", form=form)


@bp.route("/check-email")
def check_email():
    return render_template("auth/check_email.html", email=request.args.get("email", ""))


@bp.route("/confirm/<token>")
@limiter.limit("30 per minute")
def confirm(token: str):
    try:
        services.confirm_email(token)
    except (TokenExpired, TokenInvalid) as exc:
        return render_template("auth/link_problem.html", message=str(exc)), 400
    db.session.commit()
    flash(_("Your email address is confirmed. You can log in now."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=remote_address_and_email)
@limiter.limit("30 per minute", methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data or "", form.password.data or "")
        except services.LoginRefused as exc:
            db.session.commit()  # keeps a re-sent confirmation email, if any
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            session.clear()  # a fresh session at login: nothing carried over from before
            login_user(user, remember=bool(form.remember.data))
            flash(_("Welcome, %(name)s.", name=user.full_name), "success")
            return redirect(safe_local_path(request.args.get("next")) or url_for("main.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    log_out_this_browser()
    flash(_("You are logged out."), "info")
    return forget_remember_cookie(redirect(url_for("main.index")))


@bp.route("/logout-everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    services.log_out_everywhere(current_user)  # the form is only a button: CSRFProtect has checked its token
    db.session.commit()
    log_out_this_browser()
    flash(_("You are logged out on all your devices, this one too. Log in again to continue."), "success")
    return forget_remember_cookie(redirect(url_for("auth.login")))


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit("5 per minute;30 per hour", methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.start_password_reset(form.email.data or "")
        db.session.commit()
        flash(_("If an account uses that address, we have emailed it a link to set a new password. "
              "The link works once, for a limited time."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def reset_password(token: str):
    try:
        services.user_for_reset_token(token)
    except (TokenExpired, TokenInvalid) as exc:
        return render_template("auth/link_problem.html", message=str(exc), offer_reset=True), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data or "")
        except (TokenExpired, TokenInvalid) as exc:
            return render_template("auth/link_problem.html", message=str(exc), offer_reset=True), 400
        except DomainError as exc:
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            log_out_this_browser()
            flash(_("Your password is changed and every device that was logged in is logged out. "
                  "Log in with the new password."), "success")
            return forget_remember_cookie(redirect(url_for("auth.login")))
    return render_template("auth/reset.html", form=form)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["GET"])
@limiter.limit("20 per minute", methods=["POST"])
def accept_invitation(token: str):
    try:
        invitee = invitations.user_for_invitation(token)
    except (TokenExpired, TokenInvalid) as exc:
        return render_template("auth/link_problem.html", message=str(exc)), 400
    if current_user.is_authenticated and current_user.id != invitee.id:
        message = _("This invitation is for %(invitee)s, and you are logged in as %(email)s. "
                    "Log out, then open the link again.", invitee=invitee.email, email=current_user.email)
        return render_template("auth/link_problem.html", message=message), 403
    form = AcceptInvitationForm()
    if request.method == "GET":
        form.full_name.data = invitee.full_name
    if form.validate_on_submit():
        try:
            user = invitations.accept_invitation(token, form.full_name.data or "", form.password.data or "")
        except (TokenExpired, TokenInvalid) as exc:
            return render_template("auth/link_problem.html", message=str(exc)), 400
        except DomainError as exc:
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            session.clear()  # a fresh session at login: nothing carried over from before
            login_user(user)
            flash(_("Welcome, %(name)s. Your account is ready.", name=user.full_name), "success")
            return redirect(url_for("main.index"))
    return render_template("auth/accept_invitation.html", form=form, invitee=invitee,
                           roles=invitations.role_labels(invitee))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data or "", form.password.data or "")
        except services.WrongCurrentPassword as exc:
            form.current_password.errors.append(str(exc))
        except DomainError as exc:
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            keep_this_browser_logged_in(current_user._get_current_object())
            flash(_("Your password is changed. Every other device that was logged in is logged out."), "success")
            return redirect(url_for("main.index"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    form.time_zone.choices = zone_names()
    if request.method == "GET" and not current_user.time_zone:
        form.time_zone.data = "Asia/Tokyo"
    if request.method == "GET" and not current_user.locale:
        form.locale.data = current_locale() or DEFAULT_LOCALE  # the language the page is shown in now
    if form.validate_on_submit():
        try:
            services.update_profile(current_user, form.full_name.data or "", form.time_zone.data or "",
                                    form.locale.data or None)
        except DomainError as exc:
            form.time_zone.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form, logout_everywhere_form=LogoutEverywhereForm())


# --- Personal access tokens for the JSON API --------------------------------------------------------------------

def _token_page(form: ApiTokenForm, issued: tokens.IssuedToken | None = None):
    user = current_user._get_current_object()
    response = current_app.make_response(render_template(
        "auth/api_tokens.html", form=form, issued=issued, tokens=tokens.tokens_of(user.id),
        revoke_form=RevokeTokenForm(), now=utcnow(), max_days=tokens.MAX_LIFETIME_DAYS))
    response.headers["Cache-Control"] = "no-store"  # the page may carry a new secret: no cache keeps it
    return response


@bp.route("/profile/tokens", methods=["GET", "POST"])
@login_required
@limiter.limit("30 per hour", methods=["POST"])
def api_tokens():
    """Create and list personal access tokens; a new token's secret is shown in the answer to the POST, once (it is
    never put in the session, which lives in a cookie, nor stored anywhere but as a hash). The form carries a
    one-time value, so sending it again (reloading that answer) creates no second token."""
    form = ApiTokenForm()
    form.scopes.choices = [(scope.value, scope.label) for scope in tokens.scopes_allowed(current_user)]
    if request.method == "GET":
        form.expires_on.data = tokens.today_for(current_user) + timedelta(days=tokens.DEFAULT_LIFETIME_DAYS)
        form.form_nonce.data = tokens.new_form_nonce()
    issued = None
    if form.validate_on_submit():
        try:
            issued = tokens.create_token(current_user, form.name.data or "", form.scopes.data or [],
                                         form.expires_on.data, form_nonce=form.form_nonce.data)
        except FieldError as exc:
            getattr(form, exc.field).errors.append(str(exc))
        except tokens.TokenAlreadyCreated as exc:  # the insert did nothing: there is nothing to undo
            flash(str(exc), "info")
            return redirect(url_for("auth.api_tokens"))
        else:
            db.session.commit()
            form = ApiTokenForm(formdata=None)
            form.scopes.choices = [(scope.value, scope.label) for scope in tokens.scopes_allowed(current_user)]
            form.expires_on.data = tokens.today_for(current_user) + timedelta(days=tokens.DEFAULT_LIFETIME_DAYS)
            form.form_nonce.data = tokens.new_form_nonce()
    if not form.form_nonce.data:  # a form sent without its one-time value gets a new one to send again
        form.form_nonce.data = tokens.new_form_nonce()
    return _token_page(form, issued)


@bp.route("/profile/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_api_token(token_id: int):
    if tokens.revoke_token(current_user, token_id) is None:
        abort(404)
    db.session.commit()
    flash(_("The token is revoked: it no longer works."), "success")
    return redirect(url_for("auth.api_tokens"))
