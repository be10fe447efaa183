"""`flask --app api <command>`: migrate, export-openapi."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask, current_app

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
