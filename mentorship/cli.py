"""Terminal commands: `flask --app mentorship seed-demo | create-user`."""

from __future__ import annotations

import click
from flask import Flask

from .extensions import db
from .models import Role
from .services import auth, people
from .services.errors import DomainError


def register(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option(
        "--scale",
        type=click.Choice(["demo"]),
        default="demo",
        show_default=True,
        help="How much data to load. Larger scales come with the statewide rollup.",
    )
    def seed_demo_command(scale: str) -> None:
        """Load the demo cohorts, libraries and accounts (safe to run again)."""
        from .services import demo  # the demo data is only read here

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
    def scheduler_command(once: bool, wait: float) -> None:
        """Run the reminder scheduler (one per installation): decide, then send."""
        from . import scheduler

        if once:
            scheduler.run_once(app, wait)
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
