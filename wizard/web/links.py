"""Links in emails, from the app's URL map: the `links` the domain's email
functions take (wizard/domain/mail.py), `links(endpoint, **values)` -> URL.

A link is BASE_URL followed by the page's path, whatever the request: BASE_URL
is the public address, a proxy's prefix included, so the path is built
without the script root a request may carry. Views and commands use the
app's map (`for_app`); a job, which has no app, the blueprints' map
(wizard/web/url_map.py).
"""
from flask import current_app
from werkzeug.routing import IntegerConverter


class IdConverter(IntegerConverter):
    """`<id:name>`: a positive integer that fits a database id (32-bit), so a
    huge number in a URL is a 404, not an overflow. ASCII digits only: "１"
    (fullwidth) or "٣" would otherwise be read as 1 and 3."""

    regex = r"[0-9]+"

    def __init__(self, url_map):
        super().__init__(url_map, min=1, max=2**31 - 1)


def under(base_url, url_map):
    """The links to the pages of `url_map`, under `base_url`."""
    paths = url_map.bind("localhost")  # the host is not used: paths only

    def links(endpoint, **values):
        return base_url + paths.build(endpoint, values)

    return links


def for_app():
    """The links of the current app (in a request or a CLI command)."""
    return under(current_app.config["BASE_URL"], current_app.url_map)
