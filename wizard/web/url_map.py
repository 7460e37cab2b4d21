"""The app's URL map without the app, for a process that has none: the sweep
job composes emails, and their links (wizard/web/links.py) come from here.

The one module of the web layer jobs may import (tests/test_layers.py).
"""
from functools import cache

from flask import Flask

from . import auth, billing, calls, cancel, links as email_links, success


def links(base_url):
    """The links in emails, under `base_url` (see wizard/domain/mail.py)."""
    return email_links.under(base_url, url_map())


@cache
def url_map():
    """The URL map of the app's blueprints, built once per process.

    A bare Flask with the blueprints registered and nothing else: no
    configuration, database, extensions or hooks run (wizard.create_app does
    all that, and a job process builds no app). The QA blueprint is left out:
    no email links to it.
    """
    bare = Flask(__name__)
    bare.url_map.converters["id"] = email_links.IdConverter
    for area in (auth, billing, calls, cancel, success):
        bare.register_blueprint(area.bp)
    return bare.url_map
