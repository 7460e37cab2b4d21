"""A purge that meets links, odd paths or data it cannot erase: it deletes a
link, never its target, never leaves the recordings root, and after
PURGE_MAX_ATTEMPTS failed verifications it stops, says why and alerts the
operators, until an operator retries it."""
import os
from datetime import timedelta

import pytest

from jobs.purge import run_purge
from tests.support.helpers import cancel_smrtphone
from wizard import clock
from wizard.domain import outbox, purge
from wizard.store.models import Account, ErasureRecord, OutboxMessage, PurgeSchedule, Recording


def acme_id():
    return Account.get(Account.name == "Acme Realty").id


def outside_file(tmp_path, name="keep.wav", content=b"not Acme's"):
    folder = tmp_path / "elsewhere"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(content)
    return folder / name


def purge_at(schedule, moment):
    clock.FROZEN = moment
    return run_purge(schedule.id, schedule.generation)


def purge_now():
    schedule = PurgeSchedule.get()
    return purge_at(schedule, schedule.due_at + timedelta(minutes=1))


def test_a_link_inside_the_accounts_folder_goes_and_its_target_stays(app, owner, tmp_path):
    folder = os.path.join(app.config["RECORDINGS_DIR"], str(acme_id()))
    target = outside_file(tmp_path)
    os.symlink(target, os.path.join(folder, "link.wav"))  # a file the database never knew
    os.symlink(target.parent, os.path.join(folder, "linked-folder"))
    Recording.create(account=acme_id(), path=f"{acme_id()}/link-too.wav", size_bytes=1,
                     created_at=clock.now())
    os.symlink(target, os.path.join(folder, "link-too.wav"))  # one it knew
    cancel_smrtphone(owner)

    assert purge_now() not in ("not claimed", "taken over")
    assert PurgeSchedule.get().status == PurgeSchedule.DONE
    assert not os.path.lexists(folder)
    assert target.read_bytes() == b"not Acme's", "the link went, never its target"


def test_an_account_folder_that_is_a_link_is_removed_as_a_link(app, owner, tmp_path):
    recordings = app.config["RECORDINGS_DIR"]
    folder = os.path.join(recordings, str(acme_id()))
    elsewhere = tmp_path / "elsewhere"
    os.rename(folder, elsewhere)  # Acme's files now live outside RECORDINGS_DIR
    os.symlink(elsewhere, folder)
    before = sorted(os.listdir(elsewhere))
    assert before, "the folder held Acme's recordings"
    cancel_smrtphone(owner)

    purge_now()
    assert PurgeSchedule.get().status == PurgeSchedule.DONE
    assert not os.path.lexists(folder)
    assert sorted(os.listdir(elsewhere)) == before, "nothing outside RECORDINGS_DIR was deleted"


@pytest.mark.parametrize("path", ["{acme}", "{acme}/", "{acme}/.", "{acme}/sub"])
def test_a_recording_path_that_names_a_folder_is_no_500_and_no_stall(app, owner, path):
    folder = os.path.join(app.config["RECORDINGS_DIR"], str(acme_id()))
    os.makedirs(os.path.join(folder, "sub"), exist_ok=True)
    Recording.create(account=acme_id(), path=path.format(acme=acme_id()), size_bytes=0,
                     created_at=clock.now())
    cancel_smrtphone(owner)
    purge_now()
    assert PurgeSchedule.get().status == PurgeSchedule.DONE
    assert not os.path.lexists(folder)


def test_a_purge_that_cannot_be_verified_stops_after_its_attempts_and_waits_for_an_operator(
        app, owner, monkeypatch, smtp):
    """Every run, an email for the account arrives while the purge erases its
    users (after its emails went): verification finds it each time."""
    monkeypatch.setenv("OPS_EMAIL", "ops@smrtphone.test")
    monkeypatch.setenv("PURGE_MAX_ATTEMPTS", "3")
    acme = acme_id()
    capture = purge._capture_owner_notice
    arrivals = []

    def an_email_arrives(schedule, now):
        capture(schedule, now)
        arrivals.append(outbox.compose(f"late:{len(arrivals)}", OutboxMessage.CANCELLATION_CONFIRMED,
                                       None, "Late", "", now, account_id=acme))

    monkeypatch.setattr(purge, "_capture_owner_notice", an_email_arrives)
    cancel_smrtphone(owner)
    schedule = PurgeSchedule.get()
    moment = schedule.due_at + timedelta(minutes=1)
    for attempt in (1, 2, 3):
        with pytest.raises(purge.NotErased):
            purge_at(schedule, moment)
        stuck = PurgeSchedule.get()
        assert stuck.attempts == attempt
        assert stuck.status == (PurgeSchedule.NEEDS_ATTENTION if attempt == 3 else PurgeSchedule.RUNNING)
        moment += purge.LEASE + timedelta(minutes=1)  # the lease ran out: claimable again

    stuck = PurgeSchedule.get()
    assert stuck.attention_reason.endswith("data left after erasing: emails 1") and ErasureRecord.select().count() == 0
    assert purge_at(schedule, moment + timedelta(days=1)) == "not claimed", "no worker tries again"
    alerts = list(OutboxMessage.select().where(OutboxMessage.kind == OutboxMessage.OPS_ALERT))
    assert [(a.to_address, a.subject) for a in alerts] == [
        ("ops@smrtphone.test", f"Purge {schedule.id} needs attention")]
    assert f"flask --app wizard purge retry {schedule.id}" in alerts[0].body
    assert "owner@acme.test" not in alerts[0].body and "Acme" not in alerts[0].body
    notice = OutboxMessage.get(OutboxMessage.kind == OutboxMessage.ERASURE_COMPLETE)
    assert (notice.status, notice.purge_schedule_id) == (OutboxMessage.HELD, schedule.id)

    # The operator finds the cause (here: the late emails stop) and says retry.
    monkeypatch.setattr(purge, "_capture_owner_notice", capture)
    listed = app.test_cli_runner().invoke(args=["purge", "needs-attention"])
    assert f"{schedule.id}\taccount {acme}\t3 attempts" in listed.output
    said = app.test_cli_runner().invoke(args=["purge", "retry", str(schedule.id)])
    assert said.exit_code == 0 and "will run again at the next sweep" in said.output, said.output
    again = app.test_cli_runner().invoke(args=["purge", "retry", str(schedule.id)])
    assert again.exit_code != 0 and "does not need attention" in again.output
    OutboxMessage.delete().where(OutboxMessage.account_id == acme).execute()  # what was left, cleared
    purge_at(schedule, moment + timedelta(days=1))
    done = PurgeSchedule.get()
    assert (done.status, done.attention_reason) == (PurgeSchedule.DONE, stuck.attention_reason)
    assert OutboxMessage.get_by_id(notice.id).status == OutboxMessage.PENDING, "the notice is released"
