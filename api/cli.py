"""`flask --app api <command>`: migrate, export-openapi, deliver-follow-ups."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import click
from flask import Flask, current_app

from services import delivery
from services.migrations import upgrade_to_head


def spec_json(app: Flask) -> str:
    """The OpenAPI document, rendered the one way both `make openapi` and the drift test use."""
    with app.app_context():
        spec = app.extensions["wellspring.api"].spec.to_dict()
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def register_commands(app: Flask) -> None:
    @app.cli.command("migrate")
    def migrate() -> None:
        """Apply all Alembic migrations to DATABASE_URL."""
        upgrade_to_head(current_app.extensions["wellspring.db"].engine)
        click.echo("database is at the latest migration")

    @app.cli.command("export-openapi")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    def export_openapi(path: Path) -> None:
        """Write the generated OpenAPI document to PATH."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(spec_json(current_app))
        click.echo(f"wrote {path}")

    @app.cli.command("deliver-follow-ups")
    @click.option("--loop", is_flag=True, help="Keep delivering, pass after pass, until stopped.")
    @click.option(
        "--interval",
        type=click.FloatRange(min=0.1),
        default=30.0,
        show_default=True,
        help="With --loop: seconds to wait once caught up.",
    )
    @click.option(
        "--batch",
        type=click.IntRange(min=1),
        default=500,
        show_default=True,
        help="Follow-ups handled per pass at most.",
    )
    def deliver_follow_ups(loop: bool, interval: float, batch: int) -> None:
        """Deliver due follow-ups (one pass, or --loop); safe to run several at once."""
        from api.db import clock
        from api.policy import throttle_policy

        db = current_app.extensions["wellspring.db"]
        if not loop:
            report = delivery.deliver_due_follow_ups(
                db.session_factory, clock(), throttle_policy(), batch=batch
            )
            click.echo(f"follow-up delivery: {report}")
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        click.echo(f"delivering follow-ups every {interval:g} s (batch {batch}); Ctrl-C stops")
        delivery.run_worker(
            db.session_factory,
            clock(),
            throttle_policy(),
            batch=batch,
            interval=interval,
            stop=stop,
        )
