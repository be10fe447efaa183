"""The compatibility gate: the current spec breaks nothing in the published v1 contract
(openapi/published/v1.json). Additions pass; `make publish-spec` records them."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from api.cli import PUBLISHED_SPEC, spec_dict
from api.compat import breaking_changes


@pytest.fixture(scope="module")
def current(app):
    return spec_dict(app)


@pytest.fixture(scope="module")
def published():
    return json.loads(Path(PUBLISHED_SPEC).read_text())


def test_the_current_spec_breaks_nothing_published(published, current):
    problems = breaking_changes(published, current)
    assert not problems, (
        "breaking changes against openapi/published/v1.json (docs/versioning.md: v1 only "
        "grows; deprecate with Deprecation/Sunset headers instead):\n  " + "\n  ".join(problems)
    )


def _schemas(spec):
    return spec["components"]["schemas"]


def test_a_removed_answer_field_is_breaking(current):
    changed = copy.deepcopy(current)
    del _schemas(changed)["Registration"]["properties"]["badge_code"]
    problems = breaking_changes(current, changed)
    assert any("badge_code: field removed" in p for p in problems), problems


def test_removals_renames_and_narrowing_are_breaking(current):
    changed = copy.deepcopy(current)
    del changed["paths"]["/v1/contacts.vcf"]
    del changed["paths"]["/v1/contacts"]["get"]
    changed["paths"]["/v1/events"]["post"]["operationId"] = "makeEvent"
    _schemas(changed)["Registration"]["properties"]["status"]["enum"].remove("cancelled")
    _schemas(changed)["Event"]["properties"]["name"]["maxLength"] = 20
    _schemas(changed)["Event"]["required"].append("venue")
    _schemas(changed)["Contact"]["properties"]["strength"]["type"] = "string"
    _schemas(changed)["Contact"]["required"].remove("met_at")
    problems = "\n".join(breaking_changes(current, changed))
    for expected in (
        "/v1/contacts.vcf: path removed",
        "GET /v1/contacts: operation removed",
        "operationId changed from 'createEvent' to 'makeEvent'",
        "enum values removed: ['cancelled']",
        ".name: maxLength narrowed to 20",
        ".venue: new required request field",
        ".strength: type changed from integer to string",
        ".met_at: no longer always present",
    ):
        assert expected in problems, (expected, problems)


def test_additions_are_not_breaking_and_reasons_may_grow(current):
    changed = copy.deepcopy(current)
    _schemas(changed)["Registration"]["properties"]["seat"] = {"type": "string"}
    _schemas(changed)["Event"]["properties"]["theme"] = {"type": "string"}
    _schemas(changed)["Reason"]["enum"].append("brand_new_reason")
    changed["paths"]["/v1/widgets"] = {"get": {"operationId": "listWidgets", "responses": {}}}
    assert breaking_changes(current, changed) == []


def test_a_value_added_to_a_closed_answer_enum_is_breaking(current):
    changed = copy.deepcopy(current)
    _schemas(changed)["Registration"]["properties"]["status"]["enum"].append("waitlisted")
    problems = breaking_changes(current, changed)
    assert any("values added to a closed answer enum: ['waitlisted']" in p for p in problems)
