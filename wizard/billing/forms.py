from flask_wtf import FlaskForm


class ReactivateForm(FlaskForm):
    """Reactivation asks for nothing but intent (and the CSRF token)."""
