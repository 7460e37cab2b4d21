"""Command-line tasks: `flask --app wizard migrate | seed-demo | clock ... | purge ...`."""
import click
from flask import current_app
from flask.cli import with_appcontext

from wizard import clock, queue
from wizard.store import migrations
from wizard.domain import history, purge, qaclock, sweep, tallies
from wizard.web import links
from wizard.store.db import database


def init_app(app):
    app.cli.add_command(migrate_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(clock_group)
    app.cli.add_command(purge_group)


@click.command("migrate")
@with_appcontext
def migrate_command():
    """Create or migrate the database schema, count the records made before
    the tallies existed into them (tallies.rebuild_tallies), and give each
    request made before the anonymous history existed its record
    (history.backfill)."""
    with database.connection_context():
        applied = migrations.migrate()
        if migrations.RECORD_TALLIES in applied:
            tallies.rebuild_tallies()
        recorded = history.backfill(clock.now())
    click.echo("Applied: " + ", ".join(applied) if applied else "Schema is up to date.")
    if recorded:
        click.echo(f"Recorded the history of {recorded} earlier requests.")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Load the demo accounts (safe to run again)."""
    from .demo import seed_demo

    with database.connection_context():
        migrations.migrate()
        created = seed_demo(
            current_app.config["RECORDINGS_DIR"],
            password_method=current_app.config["PASSWORD_HASH_METHOD"],
        )
    click.echo("Demo data loaded." if created else "Demo data already present.")


@click.group("purge")
def purge_group():
    """Purges that need an operator: needs-attention | retry SCHEDULE_ID."""


@purge_group.command("needs-attention")
@with_appcontext
def needs_attention_command():
    """List the purges that stopped trying, with what verification found."""
    from wizard.store.models import PurgeSchedule

    with database.connection_context():
        stuck = list(PurgeSchedule.select().where(
            PurgeSchedule.status == PurgeSchedule.NEEDS_ATTENTION).order_by(PurgeSchedule.id))
    for schedule in stuck:
        click.echo(f"{schedule.id}\taccount {schedule.account_id}\t{schedule.attempts} attempts"
                   f"\t{schedule.attention_reason}")
    if not stuck:
        click.echo("No purge needs attention.")


@purge_group.command("retry")
@click.argument("schedule_id", type=click.IntRange(min=1))
@with_appcontext
def retry_command(schedule_id):
    """Try a purge that needs attention again, from where it stopped."""
    with database.connection_context():
        retried = purge.retry(schedule_id, clock.now())
    if retried is None:
        raise click.ClickException(f"Purge {schedule_id} does not need attention.")
    click.echo(f"Purge {schedule_id} will run again at the next sweep.")


@click.group("clock")
def clock_group():
    """The QA clock (QA mode only): advance 91d | set 2027-03-01T09:00 | show | reset.

    It moves the time of the web server, the worker and the sweep together,
    then runs the sweep here, so what came due is done within seconds.
    """


def qa_mode_only():
    if not current_app.config["WIZARD_QA"]:
        raise click.ClickException(
            "The QA clock works only in QA mode, and QA mode is off. `make run` turns it on "
            "(commands typed beside it in this checkout find it on); elsewhere set WIZARD_QA=1. "
            "Production refuses it.")


def move(change):
    """Change the offset, run the sweep, and say what happened."""
    try:
        with database.connection_context():
            change()
    except qaclock.ClockRefused as exc:
        raise click.ClickException(str(exc)) from None
    with database.connection_context():
        summary = queue.enqueue_due(sweep.run(clock.now(), links.for_app()))
        click.echo(qaclock.moved_message(clock.offset(), clock.now(), summary))
    if not queue.reachable():
        click.echo(qaclock.redis_missing_message(queue.redis_url()), err=True)


def parsed(parse, text, param_hint):
    try:
        return parse(text)
    except qaclock.ClockRefused as exc:
        raise click.BadParameter(str(exc), param_hint=param_hint) from None


@clock_group.command("advance")
@click.argument("amount", nargs=-1, required=True)
@with_appcontext
def advance_command(amount):
    """Move the clock forward: 91d, 3h, 2w, 1w 2d 3h (w, d, h, m)."""
    qa_mode_only()
    by = parsed(qaclock.parse_amount, " ".join(amount), "AMOUNT")
    move(lambda: qaclock.advance(by))


@clock_group.command("set")
@click.argument("moment")
@with_appcontext
def set_command(moment):
    """Move the clock to a moment: 2027-03-01T09:00 (UTC) or 2027-03-01."""
    qa_mode_only()
    to = parsed(qaclock.parse_moment, moment, "MOMENT")
    move(lambda: qaclock.set_to(to))


@clock_group.command("reset")
@with_appcontext
def reset_command():
    """Back to the real time."""
    qa_mode_only()
    move(qaclock.reset)


@clock_group.command("show")
@with_appcontext
def show_command():
    """Say how far the clock is moved and what time it is."""
    qa_mode_only()
    with database.connection_context():
        offset = qaclock.stored_offset()
    now = clock.unmoved_now() + offset
    if offset:
        click.echo(f"QA clock: {qaclock.describe(offset)} (now {qaclock.now_label(now)}).")
    else:
        click.echo(f"QA clock: not moved; the real time ({qaclock.now_label(now)}).")
