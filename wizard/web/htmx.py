"""The only code that reads HX-* request headers or sets HX-* response headers."""
from flask import make_response, redirect, render_template

from .extensions import htmx


def wants_fragment():
    """True for an htmx request that swaps a fragment.

    A history restore (htmx found no snapshot in its cache) needs the whole
    page, so it is answered like a plain browser.
    """
    return bool(htmx) and not htmx.history_restore_request


def vary(response):
    """Tell caches that the body depends on whether htmx asked."""
    response.vary.add("HX-Request")
    return response


def fragment(body, push_url=None, status=200, title=None):
    """Answer htmx with a fragment, pushing `push_url` into its history.

    `title` (the page's title block, as the full page has it) becomes the
    document's title: htmx 2 takes a <title> element at the top of a
    response as the new title and leaves it out of the swap. So the partial
    stays the one the full page includes, and the title is added here.
    """
    if title is not None:
        body = render_template("_htmx_title.html", title=title) + body
    response = make_response(body, status)
    if push_url:
        response.headers["HX-Push-Url"] = push_url
    return vary(response)


def leave_to(url):
    """Send the browser to `url`: a full navigation for htmx, a 303 otherwise."""
    if htmx:
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url
        return vary(response)
    return vary(redirect(url, code=303))
