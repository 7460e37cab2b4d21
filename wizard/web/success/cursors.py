"""Where the next page of the requests list starts, as a signed token in its
link: the sort it was drawn for, and the last row's sort key and id
(listing.Page.after). Signed, so a link a person edits is refused with a
clear message instead of reaching the database as something else."""
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

TAMPERED = object()
TAMPERED_MESSAGE = ("This page link was changed or is out of date. "
                    "Start again from the first page of the list.")
_SALT = "requests-list-page"


def _serializer():
    return URLSafeSerializer(current_app.secret_key, salt=_SALT)


def write(sort, after):
    return _serializer().dumps([sort, *after])


def read(token, sort):
    """The (sort key, id) a token names for `sort`; None without a token;
    TAMPERED when it was not made here for this sort."""
    if not token:
        return None
    if len(token) > 500:
        return TAMPERED
    try:
        drawn_for, value, last_id = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return TAMPERED
    if drawn_for != sort or not isinstance(last_id, int) or isinstance(last_id, bool):
        return TAMPERED
    return value, last_id
