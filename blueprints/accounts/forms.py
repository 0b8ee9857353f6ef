from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length

from blueprints.accounts.services import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH


class RegisterForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=64)])
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200, message=f"The password must be at least {MIN_PASSWORD_LENGTH} characters.")])
    confirm = PasswordField(
        "Repeat password", validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")]
    )


class LoginForm(FlaskForm):
    login = StringField("Name or email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    next = HiddenField()


class TokenForm(FlaskForm):
    label = StringField("Label", validators=[DataRequired(), Length(max=64)])
    expires = SelectField(
        "Expires",
        choices=[
            SelectChoice("", "Never"),
            SelectChoice("30", "In 30 days"),
            SelectChoice("90", "In 90 days"),
            SelectChoice("365", "In a year"),
        ],
        default="",
    )


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(message="Enter your current password.")])
    new_password = PasswordField(
        "New password",
        validators=[
            DataRequired(message="Enter a new password."),
            Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH, message=f"The password must be at least {MIN_PASSWORD_LENGTH} characters."),
        ],
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(message="Repeat the new password."), EqualTo("new_password", message="The passwords do not match.")],
    )


class EmptyForm(FlaskForm):
    """CSRF only: logout, log out everywhere, revoke."""
