"""Command-line tasks: `flask --app wizard migrate | seed-demo`."""
import click
from flask import current_app
from flask.cli import with_appcontext

from . import migrations
from .db import database


def init_app(app):
    app.cli.add_command(migrate_command)
    app.cli.add_command(seed_demo_command)


@click.command("migrate")
@with_appcontext
def migrate_command():
    """Create or migrate the database schema."""
    with database.connection_context():
        applied = migrations.migrate()
    click.echo("Applied: " + ", ".join(applied) if applied else "Schema is up to date.")


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
