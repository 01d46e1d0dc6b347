"""Stored events must stay readable: a shape change needs a new schema version, the old schema
file kept, and an upcaster from the previous version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lambdas.banking.events import registry
from lambdas.eventstore.schemas import render, schema_file_name

pytestmark = [pytest.mark.unit, pytest.mark.lambda_side]
SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas" / "events"
EVENTS = sorted(registry.classes.values(), key=lambda c: c.event_type)


@pytest.mark.parametrize("cls", EVENTS, ids=lambda c: c.event_type)
def test_the_current_shape_matches_its_committed_schema(cls):
    path = SCHEMA_DIR / schema_file_name(cls.event_type, cls.schema_version)
    assert path.exists(), f"run `python -m lambdas.banking.schemas` and commit {path.name}"
    assert json.loads(path.read_text()) == json.loads(render(cls)), (
        f"{cls.event_type} changed shape: bump schema_version, keep {path.name}, add an upcaster"
    )


@pytest.mark.parametrize("cls", EVENTS, ids=lambda c: c.event_type)
def test_every_older_version_has_a_schema_file_and_an_upcaster(cls):
    for version in range(1, cls.schema_version):
        assert (SCHEMA_DIR / schema_file_name(cls.event_type, version)).exists()
        assert registry.has_upcaster(cls.event_type, version)


def test_every_schema_file_belongs_to_a_known_event():
    known = {c.event_type: c.schema_version for c in EVENTS}
    for path in SCHEMA_DIR.glob("*.json"):
        schema = json.loads(path.read_text())
        assert schema["x-schema-version"] <= known[schema["x-event-type"]]
