import json
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from api.cli import spec_json
from services.core.migrations import head_revisions
from services.core.models import Base

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


def test_there_is_exactly_one_migration_head():
    assert len(head_revisions()) == 1


def test_models_match_the_migrations(connection):
    """The equivalent of `alembic check`: autogenerate finds nothing to add or change."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    assert compare_metadata(context, Base.metadata) == []


def test_committed_openapi_spec_matches_the_code(app):
    committed = SPEC_PATH.read_text()
    assert committed == spec_json(app), "openapi/openapi.json is stale: run `make openapi`"


def test_spec_is_served_and_documents_errors_for_every_operation(anon):
    served = anon.get("/v1/openapi.json")
    assert served.status_code == 200
    spec = served.get_json()
    # The deployment names its own PUBLIC_BASE_URL; the committed copy names `make run`'s.
    assert spec.pop("servers") == [{"url": "https://wellspring.test"}]
    committed = json.loads(SPEC_PATH.read_text())
    committed.pop("servers")
    assert spec == committed
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "patch", "put", "delete"):
                continue
            responses = operation["responses"]
            errors = [code for code in responses if code.startswith(("4", "5"))]
            assert errors, f"{method.upper()} {path} documents no error responses"
            for code in errors:
                ref = responses[code].get("$ref")
                assert ref, (path, method, code)


def test_docs_page_is_served(anon):
    assert anon.get("/docs").status_code == 200
