"""Download your data: asking for the account's archive, building it (the
job's half), handing it out by a signed link, and letting it go.

Rules, each in one place here:
- Only the Account Owner asks and downloads (the web layer says so to
  admins and agents).
- At most one archive per account is being built at a time: the database
  refuses a second (DataExport.building_for is unique), so two tabs asking
  at once get one build and one "already being prepared".
- A build claims its row with a conditional UPDATE and holds it by a lease
  it renews as it goes. A build that dies (a killed worker) leaves its lease
  to run out; the sweep then hands the row to a worker again, which starts
  afresh: it removes whatever file the dead build left and writes a new one.
  The archive is written to "<file>.partial" and renamed when complete, so
  a half-written file is never offered. After MAX_ATTEMPTS starts it fails.
- A full disk fails the build cleanly (FAILED, DISK_FULL): the partial file
  is removed and the page says to try again later.
- A ready archive can be downloaded for AVAILABLE_FOR (7 days) by a link
  signed with the app's secret, naming the archive and its account; the
  sweep then deletes its file. A new archive replaces the account's older
  one once it is ready. Reactivating keeps them until they expire; the purge
  deletes the account's folder of archives (EXPORTS_DIR/<account id>) and
  verifies that nothing is left in it, as it does its recordings' folder.
"""
import errno
import logging
import os
import secrets
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from peewee import IntegrityError

from . import archive
from wizard import files
from wizard.refusals import ExportNotReady, ExportUnderWay, LinkExpired, LinkNotValid
from wizard.store.db import transaction
from wizard.store.models import AuditEvent, DataExport, PurgeSchedule, Recording

log = logging.getLogger(__name__)

AVAILABLE_FOR = timedelta(days=7)
LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 3
DISK_FULL_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class LostLease(Exception):
    """Another worker took the build over; stop quietly."""


def ask(account, user, ip, now):
    """Queue a new archive of the account; return its row (the caller enqueues
    the job after the commit). ExportUnderWay while one is being built."""
    try:
        with transaction():
            export = DataExport.create(
                account=account.id, requested_by=user.id, status=DataExport.QUEUED,
                building_for=account.id, file_name="", requested_at=now,
                recordings_total=Recording.select().where(Recording.account == account.id).count())
            export.file_name = f"{account.id}/{export.id}-{secrets.token_hex(8)}.zip"
            export.save(only=[DataExport.file_name])
            AuditEvent.record("export.requested", account.id, user, ip, now, export=export.id)
    except IntegrityError:
        raise ExportUnderWay() from None
    return export


def claim(export_id, worker, now):
    """Take the build for `worker`; return the row, or None if it is not
    ours to build (built already, being built by a live worker, gone)."""
    with transaction():
        taken = (DataExport.update(status=DataExport.BUILDING, claimed_by=worker,
                                   lease_expires_at=now + LEASE, attempts=DataExport.attempts + 1,
                                   recordings_done=0, recordings_missing=0, stage="")
                 .where((DataExport.id == export_id)
                        & ((DataExport.status == DataExport.QUEUED)
                           | ((DataExport.status == DataExport.BUILDING)
                              & (DataExport.lease_expires_at < now))))
                 .execute())
        return DataExport.get_by_id(export_id) if taken else None


def _held(export, worker):
    return ((DataExport.id == export.id) & (DataExport.status == DataExport.BUILDING)
            & (DataExport.claimed_by == worker))


def renew(export, worker, now, **progress):
    """Save how far the build got and renew the lease, or raise LostLease."""
    kept = DataExport.update(lease_expires_at=now + LEASE, **progress).where(
        _held(export, worker)).execute()
    if not kept:
        raise LostLease(f"export {export.id} was taken over")


def path_of(exports_dir, export):
    return os.path.join(exports_dir, export.file_name)


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def build(export, worker, clock, exports_dir, recordings_dir, batch_size=5000):
    """Build the claimed archive; return the row as it ends (READY or FAILED).

    Starts afresh: a file an earlier, dead build left is removed first.
    """
    final = path_of(exports_dir, export)
    partial = final + ".partial"
    if export.attempts > MAX_ATTEMPTS:
        return _failed(export, worker, DataExport.BROKEN, partial)
    for leftover in (final, partial):
        _remove(leftover)

    def progress(stage, done):
        renew(export, worker, clock(), stage=stage, recordings_done=done)

    try:
        files.private_folder(os.path.dirname(final))
        written = archive.write(partial, export.account, recordings_dir, batch_size, progress)
        os.replace(partial, final)
    except OSError as exc:
        if exc.errno not in DISK_FULL_ERRORS:
            _remove(partial)
            raise
        log.warning("Export %s: the disk is full (%s)", export.id, exc)
        return _failed(export, worker, DataExport.DISK_FULL, partial)
    except BaseException:
        # Lost the lease (the worker that took over writes its own file), or
        # broke: the lease runs out and the sweep hands the build on.
        _remove(partial)
        raise
    return _ready(export, worker, clock(), written, os.path.getsize(final), exports_dir)


def _failed(export, worker, failure, partial):
    _remove(partial)
    DataExport.update(status=DataExport.FAILED, failure=failure, building_for=None,
                      lease_expires_at=None).where(_held(export, worker)).execute()
    return DataExport.get_by_id(export.id)


def _ready(export, worker, now, written, size, exports_dir):
    with transaction():
        kept = DataExport.update(
            status=DataExport.READY, building_for=None, lease_expires_at=None, stage="",
            recordings_done=written.recordings, recordings_missing=written.missing,
            size_bytes=size, ready_at=now, expires_at=now + AVAILABLE_FOR,
        ).where(_held(export, worker)).execute()
        if not kept:
            raise LostLease(f"export {export.id} was taken over")
        older = list(DataExport.select().where(
            (DataExport.account == export.account_id) & (DataExport.id < export.id)
            & (DataExport.status == DataExport.READY)))
        for replaced in older:
            _expire(replaced, exports_dir)
    return DataExport.get_by_id(export.id)


def _expire(export, exports_dir):
    _remove(path_of(exports_dir, export))
    DataExport.update(status=DataExport.EXPIRED).where(
        (DataExport.id == export.id) & (DataExport.status == DataExport.READY)).execute()


def expire(export_id, now, exports_dir):
    """Delete the file of an archive past its 7 days (the expiry job); True if it was."""
    export = DataExport.get_or_none((DataExport.id == export_id) & (DataExport.status == DataExport.READY)
                                    & (DataExport.expires_at <= now))
    if export is None:
        return False
    _expire(export, exports_dir)
    return True


def past_their_days(now, limit=500):
    """Ids of ready archives whose 7 days are over (the sweep: a job deletes each)."""
    return [e.id for e in DataExport.select(DataExport.id).where(
        (DataExport.status == DataExport.READY) & (DataExport.expires_at <= now))
        .order_by(DataExport.id).limit(limit)]


def stalled(now, limit=500):
    """Ids of builds a job should run: queued, or building with a lapsed lease (the sweep)."""
    return [e.id for e in DataExport.select(DataExport.id).where(
        (DataExport.status == DataExport.QUEUED)
        | ((DataExport.status == DataExport.BUILDING) & (DataExport.lease_expires_at < now)))
        .order_by(DataExport.id).limit(limit)]


# -- the signed link ---------------------------------------------------------------

def _signer(secret):
    return URLSafeSerializer(secret, salt="data-export-link")


def link_token(export, secret):
    """What the download link carries: the archive, its account and its file, signed."""
    return _signer(secret).dumps([export.id, export.account_id, export.file_name])


def for_download(account_id, export_id, token, secret, now):
    """The ready archive the link names, for the owner of `account_id`;
    LinkNotValid (tampered, not theirs, gone), LinkExpired or ExportNotReady."""
    try:
        signed = _signer(secret).loads(token)
    except BadSignature:
        raise LinkNotValid() from None
    export = DataExport.get_or_none((DataExport.id == export_id) & (DataExport.account == account_id))
    if export is None or signed != [export.id, export.account_id, export.file_name]:
        raise LinkNotValid()
    if export.is_under_way:
        raise ExportNotReady()
    if export.status == DataExport.EXPIRED or (export.is_ready and export.expires_at <= now):
        raise LinkExpired()
    if not export.is_ready:
        raise LinkNotValid()
    return export


def downloaded(export, user, ip, now, byte_range):
    """Audit one download request (a resumed one names the range it asked for)."""
    AuditEvent.record("export.downloaded", export.account_id, user, ip, now, export=export.id,
                      range=byte_range or "")


def erasure_of(account_id):
    """When the account's data is to be erased, or None if it is not."""
    schedule = PurgeSchedule.for_account(account_id)
    return schedule.due_at if schedule is not None and schedule.is_scheduled else None


def available_until(export, erased_at):
    """When the ready archive stops being downloadable: its 7 days, or the
    erasure (`erased_at`, from erasure_of) if that comes first."""
    return min(export.expires_at, erased_at) if erased_at else export.expires_at
