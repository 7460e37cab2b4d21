"""Download your data (wizard/domain/exports.py): the owner's page that
prepares the account's archive, shows how far the build has got, and hands
out the file.

- The page polls its progress with htmx every 2 seconds; without JavaScript
  it refreshes itself (a <meta refresh> inside <noscript>) while the build
  runs.
- The file's link is signed (exports.link_token) and works only in the
  owner's signed-in session; it is served with Range support (werkzeug's
  conditional responses), so a long download can resume. Each request of
  the file is audited and counts against DOWNLOAD_LIMIT.
- A closed account's owner may still download until the erasure
  (hooks.OPEN_WHEN_CLOSED): that is when the data is worth the most.
- Admins and agents are told that only the Account Owner can download the
  account's data; staff, who belong to no account, get a 404.
"""
import os

from flask import abort, current_app, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from wizard import clock, queue
from wizard.domain import exports, formatting
from wizard.refusals import LinkNotValid
from wizard.store.models import DataExport
from wizard.web import htmx, ratelimits
from wizard.web.auth import access

from .forms import PrepareDataForm
from .views import bp

ONLY_THE_OWNER = "Only the Account Owner can download the account's data."
POLL_SECONDS = 2


def owners_account():
    """The signed-in owner's account; 403 for anyone else of it, 404 for staff."""
    if access.smrtphone_of(current_user) is None:
        abort(404)
    if not current_user.is_owner:
        abort(403, description=ONLY_THE_OWNER)
    return current_user.account


def page_context(account):
    export = DataExport.latest_of(account.id)
    ready = export if export is not None and export.is_ready else None
    erased_at = exports.erasure_of(account.id)
    return dict(
        account=account, export=export, form=PrepareDataForm(), poll_seconds=POLL_SECONDS,
        erased_at=erased_at, until=exports.available_until(ready, erased_at) if ready else None,
        download_url=url_for("billing.download_data", export_id=ready.id,
                             link=exports.link_token(ready, current_app.config["SECRET_KEY"]))
        if ready else None)


def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/data")
@login_required
def data():
    account = owners_account()
    return no_store(current_app.make_response(render_template(
        "billing/data.html", title="Download your data", **page_context(account))))


@bp.get("/data/progress")
@login_required
def data_progress():
    """The status panel alone, for htmx's polling; a full page otherwise."""
    account = owners_account()
    if not htmx.wants_fragment():
        return redirect(url_for("billing.data"))
    return no_store(htmx.vary(current_app.make_response(render_template(
        "billing/_data_status.html", **page_context(account)))))


@bp.post("/data")
@login_required
@ratelimits.per_user
def prepare_data():
    """Queue a new archive; a second one while one is built is refused (409)."""
    account = owners_account()
    export = exports.ask(account, current_user, request.remote_addr, clock.now())
    queue.enqueue_export(export.id)
    return redirect(url_for("billing.data"), code=303)


@bp.get("/data/<id:export_id>/download")
@login_required
@ratelimits.downloads
def download_data(export_id):
    account = owners_account()
    link = request.args.get("link", "")
    if not link or len(link) > 500:
        raise LinkNotValid()
    export = exports.for_download(account.id, export_id, link, current_app.config["SECRET_KEY"],
                                  clock.now())
    path = exports.path_of(current_app.config["EXPORTS_DIR"], export)
    if not os.path.isfile(path):
        raise LinkNotValid()
    exports.downloaded(export, current_user, request.remote_addr, clock.now(),
                       request.headers.get("Range", "")[:100])
    name = f"smrtphone-data-{formatting.iso_date(export.ready_at, account.timezone)}.zip"
    response = send_file(path, mimetype="application/zip", as_attachment=True,
                         download_name=name, conditional=True, etag=True, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response
