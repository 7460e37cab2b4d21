from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import InputRequired, Length


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[InputRequired("Please enter your email."), Length(max=254)])
    password = PasswordField("Password", validators=[InputRequired("Please enter your password."), Length(max=200)])
    next = HiddenField()

