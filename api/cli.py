"""`flask --app api <command>`: migrate, export-openapi, publish-spec, deliver, seed-demo."""

from __future__ import annotations

import json
import os
import shlex
import signal
import threading
from pathlib import Path

import click
from flask import Flask, current_app

from api.compat import breaking_changes
from api.contract import canonical
from api.demo import seeder
from services.core.migrations import is_at_head, upgrade_to_head
from services.core.timezones import is_valid_timezone, zone
from services.mail.transport import SmtpSettings


def spec_json(app: Flask) -> str:
    """The OpenAPI document, rendered the one way both `make openapi` and the drift test use
    (its server is `make run`'s default, not this deployment's PUBLIC_BASE_URL)."""
    return render_spec(spec_dict(app))


def spec_dict(app: Flask) -> dict:
    with app.app_context():
        return canonical(app.extensions["wellspring.api"].spec.to_dict())


def render_spec(spec: dict) -> str:
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


PUBLISHED_SPEC = Path(__file__).resolve().parent.parent / "openapi" / "published" / "v1.json"


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

    @app.cli.command("publish-spec")
    @click.argument(
        "path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=PUBLISHED_SPEC,
    )
    def publish_spec(path: Path) -> None:
        """Record the current spec as the published v1 contract, if it breaks nothing in it."""
        current = spec_dict(current_app)
        if path.exists():
            problems = breaking_changes(json.loads(path.read_text()), current)
            if problems:
                raise click.ClickException(
                    "not published: these changes would break apps built on the published "
                    "contract (docs/versioning.md):\n  " + "\n  ".join(problems)
                )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_spec(current))
        click.echo(f"wrote {path}")

    @app.cli.command("deliver")
    @click.option("--loop", is_flag=True, help="Keep delivering, pass after pass, until stopped.")
    @click.option(
        "--interval",
        type=click.FloatRange(min=0.1),
        default=5.0,
        show_default=True,
        help="With --loop: seconds to wait once caught up.",
    )
    @click.option(
        "--batch",
        type=click.IntRange(min=1),
        default=500,
        show_default=True,
        help="Items handled per step and pass at most.",
    )
    def deliver(loop: bool, interval: float, batch: int) -> None:
        """Deliver everything due: follow-ups, pushes, mail, and the housekeeping (one pass, or
        --loop); safe to run several at once."""
        from api.worker import delivery_steps, run_loop, run_pass

        steps = delivery_steps(current_app, batch=batch)
        stop = threading.Event()
        if not loop:
            run_pass(steps, stop, report=lambda step, summary: click.echo(summary))
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        config = current_app.config
        mail = config["SMTP_URL"] and SmtpSettings.from_url(config["SMTP_URL"]).describe()
        click.echo(
            f"delivering {', '.join(step.name for step in steps)} every {interval:g} s "
            f"(batch {batch}); mail via {mail or config['MAIL_DIR'] + ' (.eml files)'}; "
            "Ctrl-C stops"
        )
        run_loop(steps, interval=interval, stop=stop)

    # The command's first name (v1 ran follow-ups only); scripts that call it keep working.
    app.cli.add_command(deliver, "deliver-follow-ups")

    @app.cli.command("seed-demo")
    @click.option(
        "--timezone",
        "timezone_name",
        default=None,
        help="IANA zone of the demo event (default: this machine's zone).",
    )
    @click.option("--seed", type=int, default=None, help="Random seed, for repeatable data.")
    def seed_demo(timezone_name: str | None, seed: int | None) -> None:
        """Migrate, then create a demo event happening today, with about 2,000 attendees."""
        db = current_app.extensions["wellspring.db"]
        with db.read_session_factory() as session:
            migrated = is_at_head(session.connection())
        if not migrated:
            upgrade_to_head(db.engine)
        timezone_name = timezone_name or seeder.machine_timezone()
        if not is_valid_timezone(timezone_name):
            raise click.BadParameter(f"not an IANA time zone: {timezone_name}")
        now = current_app.extensions["wellspring.clock"].now()
        starts_at, ends_at = seeder.todays_demo_window(now, zone(timezone_name))
        with db.session_factory() as session:
            seeded = seeder.seed_event(
                session,
                size=seeder.DEMO_SIZE,
                name="Wellspring Demo Day",
                timezone=timezone_name,
                starts_at=starts_at,
                ends_at=ends_at,
                now=now,
                seed=seed,
            )
        config = current_app.config
        click.echo(
            demo_instructions(
                seeded,
                f"http://{config['HOST']}:{config['PORT']}",
                database_url=config["DATABASE_URL"] if "DATABASE_URL" in os.environ else None,
            )
        )


# The login answer, or a message that says what usually went wrong (a server on another DB).
_TOKEN_FROM_LOGIN = (
    "python3 -c 'import sys,json; a=json.load(sys.stdin); "
    'print(a.get("access_token") or sys.exit("login failed: " + str(a.get("detail")) + '
    '" (is the server using the database that seed-demo filled?)"))\''
)


def demo_instructions(
    seeded: seeder.SeededEvent, server_url: str, *, database_url: str | None = None
) -> str:
    """What `make seed-demo` prints: sign-ins, and shell lines that work as printed against
    `make run` on the same database (tests/app/test_seed_demo.py runs them)."""
    local = zone(seeded.timezone)
    window = (
        f"{seeded.starts_at.astimezone(local):%Y-%m-%d %H:%M}-"
        f"{seeded.ends_at.astimezone(local):%H:%M} {seeded.timezone}"
    )
    counts = ", ".join(
        f"{value:,} {name.replace('_', ' ')}" for name, value in seeded.counts.items()
    )
    api = f"{server_url.rstrip('/')}/v1"
    event = f"$B/events/{seeded.event_id}"
    login = json.dumps({"email": seeded.organizer_email, "password": seeded.password})
    run = f"DATABASE_URL={shlex.quote(database_url)} make run" if database_url else "make run"
    auth = '-H "Authorization: Bearer $TOKEN"'
    return f"""\
Demo event "{seeded.name}" ({window}), id {seeded.event_id}
  {counts}

Sign in (every demo account has the same password):
  organizer  {seeded.organizer_email}
  staff      {seeded.staff_email}
  attendees  {", ".join(seeded.attendee_emails)}, ...
  password   {seeded.password}

Serve this database (in another terminal, from this directory):
  {run}

Then, in a shell:
  B={api}
  TOKEN=$(curl -s $B/auth/login -H 'Content-Type: application/json' \\
    -d '{login}' \\
    | {_TOKEN_FROM_LOGIN})
  curl -s "{event}/stats?bucket=15" {auth} | python3 -m json.tool
  curl -s -w '%{{http_code}}\\n' {event}/check-ins.csv {auth} -o check-ins.csv
  curl -s -w '%{{http_code}}\\n' "{event}/stats/arrivals.png" {auth} -o arrivals.png
"""
