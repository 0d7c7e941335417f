from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from webui.forms import Form, new_password_field


class SignupForm(Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = new_password_field("Password")
    submit = SubmitField("Create account")


class LoginForm(Form):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])
    submit = SubmitField("Sign in")
