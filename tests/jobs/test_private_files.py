"""What holds personal data on disk is readable by its owner only: the SQLite
database (and its WAL), the outbox's messages, the instance folder, each
made under the usual umask of 022, which would leave them world-readable."""
import os
import stat

import pytest

from tests.support.helpers import cancel_smrtphone
from tests.support.jobs import run_worker
from wizard import create_app, files


def mode(path):
    return oct(stat.S_IMODE(os.stat(path).st_mode))


@pytest.fixture
def usual_umask():
    before = os.umask(0o022)
    yield
    os.umask(before)


def test_the_database_and_the_instance_folder_are_private(tmp_path, monkeypatch, usual_umask):
    instance, data = tmp_path / "instance", tmp_path / "data"
    monkeypatch.setenv("WIZARD_INSTANCE", str(instance))
    app = create_app({"DATABASE_URL": f"sqlite:///{data}/wizard.sqlite3"})
    with app.app_context():
        from wizard.store import migrations
        from wizard.store.db import database

        with database.connection_context():
            migrations.migrate(database.obj)
        assert os.path.exists(data / "wizard.sqlite3-wal"), "a write in WAL mode made its log"
        for path in ("wizard.sqlite3", "wizard.sqlite3-wal", "wizard.sqlite3-shm"):
            assert mode(data / path) == "0o600", path
    assert mode(data) == mode(instance) == "0o700"
    assert mode(instance / "secret_key") == "0o600"


def test_the_outbox_holds_its_messages_privately(owner, app, redis_url, usual_umask):
    cancel_smrtphone(owner)
    run_worker(redis_url)
    outbox = app.config["OUTBOX_DIR"]
    messages = [name for name in os.listdir(outbox) if name.endswith(".eml")]
    assert messages, "the confirmation was written to the outbox"
    assert mode(outbox) == "0o700"
    assert {mode(os.path.join(outbox, name)) for name in messages} == {"0o600"}


def test_a_shared_folder_is_not_locked_to_one_user(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # as /tmp is
    files.private_folder(str(shared))
    assert mode(shared) == "0o1777"
