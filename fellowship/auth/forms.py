"""Account forms; field errors are shown beside each field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from fellowship.auth.models import Role
from fellowship.auth.passwords import MAX_LENGTH, MIN_LENGTH
from fellowship.forms import FellowshipForm
from fellowship.i18n.forms import language_field

_password_length = Length(min=MIN_LENGTH, max=MAX_LENGTH,
                          message=f"Use at least {MIN_LENGTH} characters (and at most {MAX_LENGTH}).")
_password_hint = f"At least {MIN_LENGTH} characters; a few unrelated words are easy to remember and hard to guess."


class RegisterForm(FellowshipForm):
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=200)],
                            render_kw={"autocomplete": "name"})
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)],
                       render_kw={"autocomplete": "email"})
    password = PasswordField("Password", validators=[DataRequired(), _password_length],
                             description=_password_hint, render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Repeat password",
                            validators=[DataRequired(), EqualTo("password", "The passwords do not match.")],
                            render_kw={"autocomplete": "new-password"})
    submit = SubmitField("Create account")


class LoginForm(FellowshipForm):
    email = EmailField("Email", validators=[DataRequired(), Email()], render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired()],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField("Keep me logged in on this device")
    submit = SubmitField("Log in")


class ForgotPasswordForm(FellowshipForm):
    email = EmailField("Email", validators=[DataRequired(), Email()], render_kw={"autocomplete": "email"})
    submit = SubmitField("Email me a reset link")


class ResetPasswordForm(FellowshipForm):
    password = PasswordField("New password", validators=[DataRequired(), _password_length],
                             description=_password_hint, render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Repeat new password",
                            validators=[DataRequired(), EqualTo("password", "The passwords do not match.")],
                            render_kw={"autocomplete": "new-password"})
    submit = SubmitField("Set new password")


class AcceptInvitationForm(FellowshipForm):
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=200)],
                            render_kw={"autocomplete": "name"})
    password = PasswordField("Choose a password", validators=[DataRequired(), _password_length],
                             description=_password_hint, render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Repeat the password",
                            validators=[DataRequired(), EqualTo("password", "The passwords do not match.")],
                            render_kw={"autocomplete": "new-password"})
    submit = SubmitField("Accept and log in")


class ChangePasswordForm(FellowshipForm):
    current_password = PasswordField("Current password", validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    password = PasswordField("New password", validators=[DataRequired(), _password_length],
                             description=_password_hint, render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Repeat new password",
                            validators=[DataRequired(), EqualTo("password", "The passwords do not match.")],
                            render_kw={"autocomplete": "new-password"})
    submit = SubmitField("Change password")


class LogoutEverywhereForm(FellowshipForm):
    submit = SubmitField("Log out of all devices")


class RoleChangeForm(FellowshipForm):
    role = SelectField("Role", choices=Role.choices(),
                       validators=[DataRequired()])
    submit = SubmitField("Apply")


class ProfileForm(FellowshipForm):
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=200)],
                            render_kw={"autocomplete": "name"})
    time_zone = SelectField(_l("Your time zone"), validators=[DataRequired()],
                            description=_l("Deadlines are shown in the programme's time zone and in yours."))
    locale = language_field(_l("Language"), _l("The language of your pages and of the emails you receive."))
    submit = SubmitField(_l("Save"))
