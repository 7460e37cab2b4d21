"""What "Download your data" puts in its ZIP, and writing it, streaming.

The archive holds one CSV per table below, the recordings' audio files under
recordings/ with recordings.csv as their index, and README.txt, which
explains each file's columns from the same lists that write them (`TABLES`,
`RECORDING_COLUMNS`), so the two cannot disagree.

Nothing is held whole in memory: rows are read in keyset batches of
`batch_size` and written as they come, and each recording is copied in
chunks. The ZIP is ZIP64 where it needs to be (zipfile decides per entry:
CSVs, of unknown size, are always ZIP64 entries). Recordings are stored, not
compressed: audio does not shrink. Every cell a spreadsheet could read as a
formula is guarded (formatting.spreadsheet_cell), as the console's CSV is.

A recording whose file is missing, unreadable or outside the account's own
folder is not copied: recordings.csv says "missing" in its `included`
column and README.txt lists it. The build goes on without it.
"""
import csv
import io
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass

from . import formatting
from wizard import files
from wizard.store.models import Agent, BillingRecord, CallFlow, CallLog, PhoneNumber, Recording


@dataclass(frozen=True)
class Column:
    header: str
    meaning: str
    value: object  # row -> the cell's value


def _when(moment):
    return moment.isoformat() if moment is not None else ""


def _dollars(cents):
    return f"{cents / 100:.2f}"


@dataclass(frozen=True)
class Table:
    file: str
    model: object
    what: str
    columns: tuple


TABLES = (
    Table("phone_numbers.csv", PhoneNumber, "The account's phone numbers.", (
        Column("number", "The number in international (E.164) form.", lambda r: r.e164),
        Column("label", "The label it had in smrtPhone.", lambda r: r.label),
        Column("port_out_status", "none, requested or ported: how far a port to another "
               "carrier got.", lambda r: r.port_out_status),
    )),
    Table("agents.csv", Agent, "The people who took and made calls.", (
        Column("agent_id", "smrtPhone's id of the agent.", lambda r: r.id),
        Column("name", "The agent's name.", lambda r: r.name),
        Column("email", "The agent's email address.", lambda r: r.email),
    )),
    Table("call_flows.csv", CallFlow, "How incoming calls were routed.", (
        Column("call_flow_id", "smrtPhone's id of the call flow.", lambda r: r.id),
        Column("name", "The call flow's name.", lambda r: r.name),
    )),
    Table("invoices.csv", BillingRecord, "The billing history.", (
        Column("invoice_number", "The invoice's number.", lambda r: r.invoice_number),
        Column("issued_at", "When it was issued (UTC, ISO 8601).", lambda r: _when(r.issued_at)),
        Column("amount_usd", "The amount in US dollars.", lambda r: _dollars(r.amount_cents)),
        Column("description", "What it was for.", lambda r: r.description),
    )),
    Table("call_logs.csv", CallLog, "Every call of the account.", (
        Column("call_id", "smrtPhone's id of the call; recordings.csv refers to it.",
               lambda r: r.id),
        Column("direction", "inbound or outbound.", lambda r: r.direction),
        Column("from_number", "The calling number.", lambda r: r.from_number),
        Column("to_number", "The called number.", lambda r: r.to_number),
        Column("started_at", "When the call started (UTC, ISO 8601).", lambda r: _when(r.started_at)),
        Column("duration_seconds", "How long it lasted, in seconds.", lambda r: r.duration_s),
    )),
)

RECORDING_COLUMNS = (
    Column("recording_id", "smrtPhone's id of the recording.", None),
    Column("call_id", "The call it recorded (call_logs.csv), if known.", None),
    Column("file", "The audio file in this archive, under recordings/.", None),
    Column("size_bytes", "The file's size in bytes.", None),
    Column("recorded_at", "When it was recorded (UTC, ISO 8601).", None),
    Column("included", "yes, or missing when its file could not be read (README.txt lists those).",
           None),
)

CHUNK = 1024 * 1024  # bytes copied at a time from a recording to the archive


@dataclass
class Written:
    """What an archive holds, as README.txt counts it."""

    rows: dict  # CSV file -> data rows
    recordings: int = 0
    missing: int = 0


def rows_of(model, account_id, batch_size):
    """The account's rows of `model` in id order, read `batch_size` at a time."""
    last = 0
    while True:
        batch = list(model.select().where((model.account == account_id) & (model.id > last))
                     .order_by(model.id).limit(batch_size))
        if not batch:
            return
        yield from batch
        last = batch[-1].id


def _text_entry(zf, name):
    """A text stream into a new ZIP entry (ZIP64, for it may grow past 4 GB)."""
    return io.TextIOWrapper(zf.open(name, "w", force_zip64=True), encoding="utf-8", newline="")


def _write_table(zf, table, account_id, batch_size):
    with _text_entry(zf, table.file) as out:
        writer = csv.writer(out)
        writer.writerow([c.header for c in table.columns])
        count = 0
        for row in rows_of(table.model, account_id, batch_size):
            writer.writerow([formatting.spreadsheet_cell(c.value(row)) for c in table.columns])
            count += 1
    return count


def recording_source(recordings_dir, account_id, recording):
    """The recording's file, if it is a readable file inside the account's
    own folder under the recordings root (a path that leaves it is never
    read, whatever the row says); else None."""
    folder = os.path.realpath(os.path.join(recordings_dir, str(account_id)))
    path = os.path.realpath(os.path.join(recordings_dir, recording.path))
    if os.path.commonpath([path, folder]) != folder or not os.path.isfile(path):
        return None
    return path if os.access(path, os.R_OK) else None


def _archived_name(recording):
    return f"recordings/{recording.id}-{os.path.basename(recording.path) or 'recording'}"


def _copy_recording(zf, source, name):
    """Copy one file into the archive, stored; False if it cannot be read."""
    try:
        with open(source, "rb") as src:
            info = zipfile.ZipInfo.from_file(source, name)
            info.compress_type = zipfile.ZIP_STORED
            with zf.open(info, "w") as dest:
                shutil.copyfileobj(src, dest, CHUNK)
    except (PermissionError, IsADirectoryError, FileNotFoundError):
        return False
    return True


def _write_recordings(zf, account_id, recordings_dir, batch_size, progress, scratch):
    """Copy the recordings; write their index and the missing ones' lines
    to `scratch` files (one ZIP entry is written at a time); return the counts."""
    index, missing_lines = scratch
    writer = csv.writer(index)
    writer.writerow([c.header for c in RECORDING_COLUMNS])
    done = missing = 0
    for recording in rows_of(Recording, account_id, batch_size):
        name = _archived_name(recording)
        source = recording_source(recordings_dir, account_id, recording)
        included = source is not None and _copy_recording(zf, source, name)
        if not included:
            missing += 1
            missing_lines.write(f"  {name} (recording {recording.id}"
                                f"{', call ' + str(recording.call_log_id) if recording.call_log_id else ''})\n")
        writer.writerow([formatting.spreadsheet_cell(v) for v in (
            recording.id, recording.call_log_id or "", name, recording.size_bytes,
            _when(recording.created_at), "yes" if included else "missing")])
        done += 1
        if done % 50 == 0:
            progress(done)
    progress(done)
    return done, missing


def _copy_scratch(zf, name, scratch):
    scratch.seek(0)
    with _text_entry(zf, name) as out:
        shutil.copyfileobj(scratch, out, CHUNK)


def write(path, account, recordings_dir, batch_size, progress):
    """Write the account's archive to `path`; return what it holds (Written).

    `progress(stage, recordings_done)` is called as the work goes on; it may
    raise to stop the build (the caller then removes `path`).
    """
    written = Written(rows={})
    folder = os.path.dirname(path)
    with files.private_writer(path) as raw, \
            zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf, \
            tempfile.TemporaryFile("w+", dir=folder, encoding="utf-8", newline="") as index, \
            tempfile.TemporaryFile("w+", dir=folder, encoding="utf-8") as missing_lines:
        for table in TABLES:
            progress(table.file, 0)
            written.rows[table.file] = _write_table(zf, table, account.id, batch_size)
        progress("recordings", 0)
        written.recordings, written.missing = _write_recordings(
            zf, account.id, recordings_dir, batch_size, lambda done: progress("recordings", done),
            (index, missing_lines))
        _copy_scratch(zf, "recordings.csv", index)
        progress("README.txt", written.recordings)
        with _text_entry(zf, "README.txt") as out:
            readme(out, account, written, missing_lines)
    return written


def readme(out, account, written, missing_lines):
    """README.txt: what each file holds, its columns, and what is missing."""
    out.write(f"The smrtPhone data of {account.name}\n\n"
              "Each .csv file is UTF-8 text with a header row. Times are UTC, in ISO 8601.\n"
              "A cell that a spreadsheet could run as a formula starts with an apostrophe (').\n\n")
    for table in TABLES:
        out.write(f"{table.file}: {table.what} "
                  f"{formatting.count_of(written.rows[table.file], 'row')}.\n")
        out.writelines(f"  {c.header}: {c.meaning}\n" for c in table.columns)
        out.write("\n")
    out.write(f"recordings.csv: the index of the call recordings, "
              f"{formatting.count_of(written.recordings, 'row')}; the audio files are in "
              "recordings/.\n")
    out.writelines(f"  {c.header}: {c.meaning}\n" for c in RECORDING_COLUMNS)
    if written.missing:
        out.write(f"\nMissing: {formatting.count_of(written.missing, 'recording')} could not be "
                  "read when this archive was made, so their files are not in it:\n")
        missing_lines.seek(0)
        shutil.copyfileobj(missing_lines, out, CHUNK)
    else:
        out.write("\nEvery recording's file is included.\n")
