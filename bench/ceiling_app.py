"""The two ceilings the check-in benchmark compares against, served by the same gunicorn settings.

- `bare_app()`: Flask parses the JSON body and answers JSON; no database.
- `insert_app()`: the same, plus one SQLAlchemy INSERT (one row, committed) into a bench table on
  the same database, through the project's own engine settings (services.core.db: SQLite WAL and
  BEGIN IMMEDIATE, the PostgreSQL pool).

A check-in can't be cheaper than the second; the ratio to it is the cost of the domain logic.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

from flask import Flask, request
from sqlalchemy import Column, DateTime, MetaData, String, Table, Uuid, insert

from services.core.db import make_engine, make_session_factory

metadata = MetaData()
ceiling_rows = Table(
    "bench_ceiling_rows",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("badge", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def _base(name: str) -> Flask:
    app = Flask(name)

    @app.get("/health")
    def health():
        return {"status": "ok"}

    return app


def bare_app() -> Flask:
    app = _base("ceiling-bare")

    @app.post("/ceiling")
    def ceiling():
        body = request.get_json()
        return {"status": "ok", "badge": body["badge"]}, 201

    return app


def insert_app() -> Flask:
    app = _base("ceiling-insert")
    sessions = make_session_factory(make_engine(os.environ["DATABASE_URL"]))

    @app.post("/ceiling")
    def ceiling():
        body = request.get_json()
        row_id = uuid.uuid4()
        with sessions() as session:
            session.execute(
                insert(ceiling_rows).values(
                    id=row_id, badge=body["badge"][:100], created_at=datetime.now(UTC)
                )
            )
            session.commit()
        return {"status": "ok", "id": str(row_id)}, 201

    return app
