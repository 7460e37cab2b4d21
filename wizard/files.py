"""Files that hold personal data are their owner's alone: the SQLite database,
the outbox's messages and (with "Leaving well") the exports are 0600, in
folders that are 0700, whatever the process's umask.

A folder that already exists is tightened only if this user owns it and it
is not a shared one (sticky, as /tmp is): OUTBOX_DIR=/tmp must not lock
everyone else out of /tmp.
"""
import os
import stat

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def private_folder(path):
    """Make `path` (and its missing parents) a folder only its owner can enter."""
    os.makedirs(path, mode=PRIVATE_FOLDER, exist_ok=True)
    found = os.stat(path)
    if found.st_uid == os.getuid() and not found.st_mode & stat.S_ISVTX:
        os.chmod(path, PRIVATE_FOLDER)
    return path


def private_file(path):
    """Make sure `path` exists (empty if new) and only its owner can read it."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
    if os.stat(path).st_uid == os.getuid():
        os.chmod(path, PRIVATE_FILE)
    return path


def private_writer(path):
    """A new file at `path`, 0600 from its first byte, open for writing bytes."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE), "wb")
