from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import InputRequired, Length


class LoginForm(FlaskForm):
    # autocomplete: password managers fill the right fields, and offer to save them.
    email = EmailField("Email", validators=[InputRequired("Please enter your email."), Length(max=254)],
                       render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[InputRequired("Please enter your password."), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()

