"""The QA clock's three forms. What an amount or a date means is checked by
wizard/qaclock.py, which says what it expected."""
from flask_wtf import FlaskForm
from wtforms import StringField


class AdvanceForm(FlaskForm):
    amount = StringField("Move the clock forward by")


class SetForm(FlaskForm):
    moment = StringField("Set the clock to")


class ResetForm(FlaskForm):
    """Resetting asks for nothing but intent."""
