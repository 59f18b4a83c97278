"""Terminal commands: `flask --app mentorship seed-demo | create-user | export-all | import-all`."""

from __future__ import annotations

from datetime import datetime

import click
from flask import Flask

from .extensions import db
from .models import Role
from .services import auth, backup, people
from .services.errors import DomainError


def register(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option(
        "--scale",
        type=click.Choice(["demo", "california", "national"]),
        default="demo",
        show_default=True,
        help="How much data to load. Larger scales come with the statewide rollup.",
    )
    def seed_demo_command(scale: str) -> None:
        """Load the demo cohorts, libraries and accounts (safe to run again)."""
        from . import demo  # the demo data is only read here

        if scale != "demo":
            from .demo import scale as demo_scale

            result = demo_scale.seed(scale)
            db.session.commit()
            click.echo(f"{scale.capitalize()} program: " + (result.skipped or "generated") + ".")
            for table, n in result.counts.items():
                click.echo(f"  {table:<28} {n:>9,}")
            click.echo(f"Took {result.seconds:.1f} s.")
            if result.sample_pilot:
                click.echo(f"A generated pilot's sign-in: {result.sample_pilot}")
        else:
            counts = demo.seed_demo()
            db.session.commit()
            click.echo("Demo data: " + ", ".join(f"{n} {table}" for table, n in counts.items()))
        click.echo(f"Demo sign-ins (password: {demo.DEMO_PASSWORD}):")
        for email, who in demo.DEMO_LOGINS:
            click.echo(f"  {email:<20} {who}")

    @app.cli.command("scheduler")
    @click.option("--once", is_flag=True, help="Decide and send what is due, then stop.")
    @click.option(
        "--wait",
        default=0.0,
        show_default=True,
        help="With --once: seconds to wait for "
        "rows another sender claimed (taken over after OUTBOX_CLAIM_TIMEOUT).",
    )
    @click.option(
        "--now",
        "decide_at",
        type=click.DateTime(["%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S%z"]),
        default=None,
        help="With --once: decide reminders as of this moment (ISO, with its offset, "
        "e.g. 2026-11-24T17:00+00:00) instead of the clock: to replay a missed day.",
    )
    def scheduler_command(once: bool, wait: float, decide_at: datetime | None) -> None:
        """Run the reminder scheduler (one per installation): decide, then send."""
        from . import scheduler

        if decide_at is not None and not once:
            raise click.UsageError("--now only goes with --once: a running scheduler keeps time.")
        if once:
            scheduler.run_once(app, wait, decide_at)
        else:
            click.echo("Scheduler running: reminders decided every 15 minutes, sent every 20 s.")
            scheduler.run(app)

    @app.cli.command("create-user")
    @click.option("--email", prompt=True)
    @click.option("--name", prompt=True)
    @click.password_option()
    def create_user_command(email: str, name: str, password: str) -> None:
        """Create a program staff account."""
        try:
            user = people.create_person(
                {"email": email, "name": name, "role": Role.STAFF, "library_id": None}, actor=None
            )
            auth.set_password(user, password, actor=None)
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from error
        db.session.commit()
        click.echo(f"Created staff account {user.email}.")

    @app.cli.command("export-all")
    @click.option(
        "--output",
        "-o",
        metavar="FILE",
        help="Where to write ('-': standard output; a name ending in .gz is compressed). "
        "Default: mentorship-backup-<date>-<time>.json in the current folder.",
    )
    def export_all_command(output: str | None) -> None:
        """Write the whole program (every table) to one JSON file: a complete backup."""
        path = output or backup.default_file_name()
        try:
            counts = backup.write_backup(path)
        except DomainError as error:
            raise click.ClickException(error.message) from error
        click.echo(
            f"Exported {sum(counts.values())} rows of {len(counts)} tables to {path}. "
            "It holds password hashes: keep it as safe as the database.",
            err=path == "-",
        )

    @app.cli.command("import-all")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
    def import_all_command(file: str) -> None:
        """Restore a file from export-all into an empty, migrated database (all or nothing)."""
        try:
            counts = backup.read_backup(file)
        except DomainError as error:
            raise click.ClickException(error.message + " Nothing was stored.") from error
        click.echo(f"Restored {sum(counts.values())} rows of {len(counts)} tables from {file}.")
