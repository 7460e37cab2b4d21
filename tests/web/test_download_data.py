"""Download your data (issue 17): the owner asks for the account's archive,
a real RQ worker on the private Redis builds it, the page shows progress,
and the signed link serves the ZIP with Range support, for the owner alone.
Every count is read back from the ZIP and compared with what the test's
database holds."""
import csv
import io
import os
import re
import subprocess
import zipfile
from datetime import timedelta

import pytest

from tests.support.helpers import cancel_smrtphone, text
from tests.support.jobs import counts_of, race, run_worker
from wizard import clock, queue
from wizard.domain import exports, sweep
from wizard.store.models import (
    Account,
    Agent,
    AuditEvent,
    BillingRecord,
    CallFlow,
    CallLog,
    DataExport,
    OutboxMessage,
    PhoneNumber,
    Recording,
)
from wizard.web import url_map

LINK = re.compile(r'href="(/billing/data/(\d+)/download\?link=[^"]+)"')


def acme():
    return Account.get(Account.name == "Acme Realty")


def prepared(owner, redis_url):
    """Ask for the archive and let a real worker build it; return the page."""
    response = owner.post("/billing/data")
    assert response.status_code == 303 and response.location.endswith("/billing/data")
    run_worker(redis_url)
    return text(owner.get("/billing/data"))


def download_link(page):
    return LINK.search(page).group(1).replace("&amp;", "&")


def zip_of(owner, page):
    response = owner.get(download_link(page))
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"] == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(response.data))


def rows(zf, name):
    return list(csv.DictReader(io.TextIOWrapper(zf.open(name), encoding="utf-8", newline="")))


def test_the_archive_holds_every_table_and_recording_of_the_account(app, owner, redis_url):
    account = acme()
    Agent.create(account=account, name="=HYPERLINK(\"http://x\")", email="eve@acme.test")
    page = prepared(owner, redis_url)
    assert "Your download is ready" in page
    zf = zip_of(owner, page)
    assert zf.testzip() is None
    mine = lambda model: model.select().where(model.account == account)  # noqa: E731
    assert [int(r["call_id"]) for r in rows(zf, "call_logs.csv")] == [c.id for c in mine(CallLog).order_by(CallLog.id)]
    assert [r["invoice_number"] for r in rows(zf, "invoices.csv")] == [
        b.invoice_number for b in mine(BillingRecord).order_by(BillingRecord.id)]
    # "+1..." is a formula to a spreadsheet: the number keeps its apostrophe guard.
    assert {r["number"] for r in rows(zf, "phone_numbers.csv")} == {"'" + n.e164 for n in mine(PhoneNumber)}
    assert len(rows(zf, "call_flows.csv")) == mine(CallFlow).count()
    agents = rows(zf, "agents.csv")
    assert len(agents) == mine(Agent).count()
    assert "'=HYPERLINK(\"http://x\")" in [a["name"] for a in agents], "a formula is guarded"
    index = rows(zf, "recordings.csv")
    recordings = list(mine(Recording).order_by(Recording.id))
    assert [int(r["recording_id"]) for r in index] == [r.id for r in recordings]
    assert all(r["included"] == "yes" for r in index)
    for entry, recording in zip(index, recordings):
        with open(os.path.join(app.config["RECORDINGS_DIR"], recording.path), "rb") as f:
            assert zf.read(entry["file"]) == f.read()
    assert len([n for n in zf.namelist() if n.startswith("recordings/")]) == len(recordings)
    readme = zf.read("README.txt").decode()
    for column in ("call_id", "duration_seconds", "invoice_number", "recording_id", "included"):
        assert f"  {column}: " in readme
    assert "Every recording's file is included." in readme
    # Nothing of another account.
    birch = Account.get(Account.name == "Birch Homes")
    assert not set(r["call_id"] for r in rows(zf, "call_logs.csv")) & {
        str(c.id) for c in CallLog.select().where(CallLog.account == birch)}


def test_the_owner_is_emailed_a_link_to_the_page_once_it_is_ready(app, owner, redis_url):
    prepared(owner, redis_url)
    export = DataExport.get()
    mail = OutboxMessage.get(OutboxMessage.kind == OutboxMessage.EXPORT_READY)
    assert mail.to_address == "owner@acme.test"
    assert mail.subject == "Your smrtPhone data is ready to download"
    assert url_map.links(app.config["BASE_URL"])("billing.data") in mail.body
    assert f"{export.recordings_done} call recordings" in mail.body
    run_worker(redis_url)  # again: nothing more
    assert OutboxMessage.select().where(OutboxMessage.kind == OutboxMessage.EXPORT_READY).count() == 1


def test_the_page_shows_progress_polls_with_htmx_and_refreshes_without_it(app, owner):
    owner.post("/billing/data")
    page = text(owner.get("/billing/data"))
    total = Recording.select().where(Recording.account == acme()).count()
    assert f"Preparing: call logs and invoices, then {total} recordings" in page
    assert 'hx-get="/billing/data/progress" hx-trigger="every 2s"' in page
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page
    DataExport.update(status=DataExport.BUILDING, stage="recordings", recordings_done=4).execute()
    fragment = text(owner.get("/billing/data/progress", htmx=True))
    assert fragment.lstrip().startswith('<div id="data-status"')
    assert f"Preparing: 4 of {total} recordings" in fragment and "hx-trigger" in fragment
    assert owner.get("/billing/data/progress").status_code == 302, "a full page for a plain GET"


def test_a_second_build_while_one_runs_is_refused_and_changes_nothing(app, owner):
    assert owner.post("/billing/data").status_code == 303
    again = owner.post("/billing/data")
    assert again.status_code == 409
    assert "already being prepared" in text(again)
    assert DataExport.select().count() == 1


def test_two_tabs_asking_at_once_get_one_build(app, owner, sign_in):
    second = sign_in("owner")
    raced = race(lambda: owner.post("/billing/data").status_code,
                 lambda: second.post("/billing/data").status_code)
    assert sorted(raced.results) == [303, 409]
    assert DataExport.select().count() == 1


def test_the_download_resumes_with_range_requests(app, owner, redis_url):
    page = prepared(owner, redis_url)
    link = download_link(page)
    whole = owner.get(link).data
    first = owner.get(link, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206 and len(first.data) == 100
    assert first.headers["Content-Range"] == f"bytes 0-99/{len(whole)}"
    rest = owner.get(link, headers={"Range": "bytes=100-"})
    assert rest.status_code == 206 and first.data + rest.data == whole
    assert owner.get(link, headers={"Range": f"bytes={len(whole) + 10}-"}).status_code == 416
    audited = AuditEvent.select().where(AuditEvent.kind == "export.downloaded").count()
    assert audited == 4


def test_a_tampered_foreign_or_expired_link_is_refused(app, owner, sign_in, redis_url):
    page = prepared(owner, redis_url)
    link = download_link(page)
    export_id = LINK.search(page).group(2)
    assert owner.get(link[:-3] + "abc").status_code == 404
    assert owner.get(link.replace(f"/data/{export_id}/", f"/data/{int(export_id) + 1}/")).status_code == 404
    assert owner.get(f"/billing/data/{export_id}/download").status_code == 404
    assert owner.get(f"/billing/data/{export_id}/download?link=" + "x" * 5000).status_code == 404
    # Birch's owner holds Acme's link: not theirs.
    other = sign_in("other_owner")
    assert other.get(link).status_code == 404
    # Signed out, the link leads to signing in, not to the file.
    signed_out = owner.client.application.test_client()
    assert signed_out.get(link).status_code == 302
    clock.FROZEN = clock.now() + exports.AVAILABLE_FOR + timedelta(minutes=1)
    expired = owner.get(link)
    assert expired.status_code == 410 and "has expired" in text(expired)


def test_a_download_before_the_archive_is_ready_is_refused(app, owner):
    owner.post("/billing/data")
    export = DataExport.get()
    token = exports.link_token(export, app.config["SECRET_KEY"])
    response = owner.get(f"/billing/data/{export.id}/download?link={token}")
    assert response.status_code == 409 and "not ready yet" in text(response)


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_admins_and_agents_are_told_only_the_owner_can_download(app, sign_in, role):
    browser = sign_in(role)
    for response in (browser.get("/billing/data"), browser.post("/billing/data")):
        assert response.status_code == 403
        assert "Only the Account Owner can download the account&#39;s data." in text(response)
    assert DataExport.select().count() == 0


def test_staff_have_no_account_data_to_download(app, sign_in):
    assert sign_in("success").get("/billing/data").status_code == 404


def test_downloads_are_rate_limited(app, owner, redis_url):
    app.config["DOWNLOAD_LIMIT"] = "3 per minute"
    link = download_link(prepared(owner, redis_url))
    assert [owner.get(link).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_a_missing_or_escaping_recording_is_listed_and_the_build_finishes(app, owner, redis_url):
    recordings = list(Recording.select().where(Recording.account == acme()).order_by(Recording.id))
    os.unlink(os.path.join(app.config["RECORDINGS_DIR"], recordings[0].path))
    secret = os.path.join(os.path.dirname(app.config["RECORDINGS_DIR"]), "secret.txt")
    with open(secret, "w") as f:
        f.write("not yours")
    Recording.update(path="../secret.txt").where(Recording.id == recordings[1].id).execute()
    page = prepared(owner, redis_url)
    assert "2 recordings could not be read" in page
    zf = zip_of(owner, page)
    index = {int(r["recording_id"]): r for r in rows(zf, "recordings.csv")}
    assert index[recordings[0].id]["included"] == index[recordings[1].id]["included"] == "missing"
    assert [r.id for r in recordings if index[r.id]["included"] == "yes"] == [r.id for r in recordings[2:]]
    readme = zf.read("README.txt").decode()
    assert "Missing: 2 recordings" in readme
    assert f"(recording {recordings[0].id}" in readme and f"(recording {recordings[1].id}" in readme
    assert not any(b"not yours" in zf.read(n) for n in zf.namelist())


def small_disk(path):
    """Mount a 64 KB tmpfs at `path` (a real full disk), or skip where mounting is not allowed."""
    os.makedirs(path, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", path],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")


def test_a_full_disk_fails_the_build_cleanly_and_the_page_says_try_later(app, owner, redis_url, tmp_path):
    exports_dir = str(tmp_path / "small-disk")
    small_disk(exports_dir)
    try:
        app.config["EXPORTS_DIR"] = exports_dir
        os.environ["EXPORTS_DIR"] = exports_dir  # the job reads the environment, as a worker does
        with open(os.path.join(app.config["RECORDINGS_DIR"],
                               Recording.select().where(Recording.account == acme()).first().path), "wb") as f:
            f.write(os.urandom(200_000))  # more than the disk holds
        page = prepared(owner, redis_url)
        export = DataExport.get()
        assert (export.status, export.failure, export.building_for) == ("failed", "disk_full", None)
        assert "we ran out of room to build it" in page and "Please try again later." in page
        assert "Try again" in page
        left = [name for _, _, files in os.walk(exports_dir) for name in files]
        assert left == [], "the partial file is removed"
    finally:
        subprocess.run(["umount", exports_dir], check=False)


def test_a_build_that_died_is_handed_on_by_the_sweep_and_starts_afresh(app, owner, redis_url):
    owner.post("/billing/data")
    export = DataExport.get()
    died = exports.claim(export.id, "dead-worker", clock.now())
    partial = exports.path_of(app.config["EXPORTS_DIR"], died) + ".partial"
    os.makedirs(os.path.dirname(partial), exist_ok=True)
    with open(partial, "wb") as f:
        f.write(b"half an archive")
    run_worker(redis_url)  # the queued job finds a live lease: not its to build
    assert DataExport.get_by_id(export.id).status == "building"
    clock.FROZEN = clock.now() + exports.LEASE + timedelta(seconds=1)
    found = sweep.run(clock.now(), url_map.links(app.config["BASE_URL"]))
    assert found.exports == [export.id]
    queue.enqueue_due(found)
    run_worker(redis_url)
    built = DataExport.get_by_id(export.id)
    assert (built.status, built.attempts) == ("ready", 2)
    assert not os.path.exists(partial)
    assert zipfile.ZipFile(exports.path_of(app.config["EXPORTS_DIR"], built)).testzip() is None


def test_the_sweep_has_an_archive_deleted_after_its_seven_days(app, owner, redis_url):
    prepared(owner, redis_url)
    export = DataExport.get()
    path = exports.path_of(app.config["EXPORTS_DIR"], export)
    assert os.path.isfile(path)
    start = clock.now()
    for moment, kept in ((start + exports.AVAILABLE_FOR - timedelta(minutes=1), True),
                         (start + exports.AVAILABLE_FOR, False)):
        clock.FROZEN = moment
        queue.enqueue_due(sweep.run(clock.now(), url_map.links(app.config["BASE_URL"])))
        run_worker(redis_url)
        assert os.path.isfile(path) is kept, moment
    assert DataExport.get().status == "expired"
    assert "Your last download has expired" in text(owner.get("/billing/data"))


def test_a_new_archive_replaces_the_older_one_once_ready(app, owner, redis_url):
    prepared(owner, redis_url)
    first = DataExport.get()
    prepared(owner, redis_url)
    assert DataExport.get_by_id(first.id).status == "expired"
    assert not os.path.exists(exports.path_of(app.config["EXPORTS_DIR"], first))
    assert DataExport.select().where(DataExport.status == "ready").count() == 1


def test_reactivation_keeps_the_archive(app, owner, redis_url):
    sub = cancel_smrtphone(owner)
    page = prepared(owner, redis_url)
    assert owner.post(f"/billing/reactivate/{sub.id}").status_code == 303
    assert zip_of(owner, page).testzip() is None


def test_the_purge_deletes_every_archive_of_the_account_and_verifies(app, owner, redis_url):
    from jobs.purge import run_purge
    from wizard.store.models import PurgeSchedule

    sub = cancel_smrtphone(owner)
    prepared(owner, redis_url)
    path = exports.path_of(app.config["EXPORTS_DIR"], DataExport.get())
    assert os.path.isfile(path)
    schedule = PurgeSchedule.get(PurgeSchedule.account_id == sub.account_id)
    clock.FROZEN = schedule.due_at + timedelta(minutes=1)
    owner.post("/billing/data")  # one more, still queued when the purge comes
    record = run_purge(schedule.id, schedule.generation)
    assert record and record != "not claimed"
    assert not os.path.exists(os.path.dirname(path)), "no archive, no folder"
    assert DataExport.select().count() == 0
    left = counts_of(sub.account_id, app.config["RECORDINGS_DIR"])
    assert left["archive_files"] == 0 and not any(left.values())


def test_a_closed_accounts_owner_can_still_download_until_the_erasure(app, owner, redis_url):
    sub = cancel_smrtphone(owner)
    clock.FROZEN = sub.current_period_end + timedelta(days=1)
    sweep.run(clock.now(), url_map.links(app.config["BASE_URL"]))
    page = prepared(owner, redis_url)
    assert "when it is erased for good" in page
    assert zip_of(owner, page).testzip() is None
