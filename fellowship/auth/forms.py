"""Account forms; field errors are shown beside each field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length
from wtforms.widgets import CheckboxInput, ListWidget

from fellowship.auth.models import Role
from fellowship.auth.passwords import MAX_LENGTH, MIN_LENGTH
from fellowship.forms import FellowshipForm
from fellowship.i18n.forms import language_field

_password_length = Length(min=MIN_LENGTH, max=MAX_LENGTH,
                          message=_l("Use at least %(min)d characters (and at most %(max)d).",
                                     min=MIN_LENGTH, max=MAX_LENGTH))
_password_hint = _l("At least %(min)d characters; a few unrelated words are easy to remember and hard to guess.",
                    min=MIN_LENGTH)


class RegisterForm(FellowshipForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)],
                            render_kw={"autocomplete": "name"})
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)],
                       render_kw={"autocomplete": "email"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), _password_length],
                             description=_password_hint, render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat password"),
                            validators=[DataRequired(), EqualTo("password", _l("The passwords do not match."))],
                            render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("Create account"))


class LoginForm(FellowshipForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email()], render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[DataRequired()],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField(_l("Keep me logged in on this device"))
    submit = SubmitField(_l("Log in"))


class ForgotPasswordForm(FellowshipForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email()], render_kw={"autocomplete": "email"})
    submit = SubmitField(_l("Email me a reset link"))


class ResetPasswordForm(FellowshipForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), _password_length],
                             description=_password_hint, render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat new password"),
                            validators=[DataRequired(), EqualTo("password", _l("The passwords do not match."))],
                            render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("Set new password"))


class AcceptInvitationForm(FellowshipForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)],
                            render_kw={"autocomplete": "name"})
    password = PasswordField(_l("Choose a password"), validators=[DataRequired(), _password_length],
                             description=_password_hint, render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[DataRequired(), EqualTo("password", _l("The passwords do not match."))],
                            render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("Accept and log in"))


class ChangePasswordForm(FellowshipForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    password = PasswordField(_l("New password"), validators=[DataRequired(), _password_length],
                             description=_password_hint, render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat new password"),
                            validators=[DataRequired(), EqualTo("password", _l("The passwords do not match."))],
                            render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("Change password"))


class LogoutEverywhereForm(FellowshipForm):
    submit = SubmitField(_l("Log out of all devices"))


class RoleChangeForm(FellowshipForm):
    role = SelectField(_l("Role"), choices=Role.lazy_choices(),
                       validators=[DataRequired()])
    submit = SubmitField(_l("Apply"))


class ProfileForm(FellowshipForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)],
                            render_kw={"autocomplete": "name"})
    time_zone = SelectField(_l("Your time zone"), validators=[DataRequired()],
                            description=_l("Deadlines are shown in the programme's time zone and in yours."))
    locale = language_field(_l("Language"), _l("The language of your pages and of the emails you receive."))
    submit = SubmitField(_l("Save"))


class ScopeCheckboxes(SelectMultipleField):
    """Scopes as a list of checkboxes (the template puts them in a fieldset with the label as its legend)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ApiTokenForm(FellowshipForm):
    #: One value per rendering of the form (tokens.new_form_nonce), so the form sent twice makes one token.
    form_nonce = HiddenField(validators=[DataRequired(_l("This form is out of date: check it and send it again.")),
                                         Length(max=64)])
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)],
                       description=_l("Where the token is used, e.g. \"University admissions sync\"."))
    scopes = ScopeCheckboxes(_l("What the token may read"), validate_choice=False)
    expires_on = DateField(_l("Expires on"), validators=[DataRequired()],
                           description=_l("The token stops working at the end of this day, in your time zone; at most "
                                       "a year ahead."))
    submit = SubmitField(_l("Create token"))


class RevokeTokenForm(FellowshipForm):
    submit = SubmitField(_l("Revoke"))
