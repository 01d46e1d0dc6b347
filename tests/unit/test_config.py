"""Tenant file validation: every problem names the file, the field and the allowed values."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tenantry.config import (AWS_REGIONS, REMOVED_FIELDS, StreamMode, TenantConfigError, load_tenant, parse_tenant,
                             validate_all)

pytestmark = pytest.mark.unit

VALID = {"name": "acme", "region": "eu-west-1"}
FILE = Path("tenants/acme.yaml")


def problems_of(data: dict, file: Path = FILE) -> dict[str, object]:
    with pytest.raises(TenantConfigError) as caught:
        parse_tenant(data, file)
    assert caught.value.file == file
    return {p.field: p for p in caught.value.problems}


def test_a_minimal_file_gets_safe_defaults():
    config = parse_tenant(VALID, FILE)
    assert config.deletion_protection is True and config.stream_mode is StreamMode.ON_DEMAND


def test_bad_region_names_field_and_allowed_values():
    problem = problems_of({**VALID, "region": "mars-1"})["region"]
    assert problem.allowed.split(", ") == list(AWS_REGIONS)


def test_every_problem_is_reported_at_once():
    problems = problems_of({**VALID, "stream_mode": "TURBO", "projector_batch_size": 0, "colour": "red"})
    assert set(problems) == {"stream_mode", "projector_batch_size", "colour"}
    assert problems["stream_mode"].allowed == "ON_DEMAND, PROVISIONED"
    assert problems["projector_batch_size"].allowed == ">= 1, <= 10000"


@pytest.mark.parametrize("data, field", [
    ({**VALID, "stream_mode": "PROVISIONED"}, "shard_count"),
    ({**VALID, "shard_count": 2}, "shard_count"),
    ({**VALID, "tags": {"tenant": "other"}}, "tags"),
    ({**VALID, "name": "Acme"}, "name"),
])
def test_cross_field_rules_blame_a_field(data, field):
    assert field in problems_of(data)


def test_name_must_match_the_file():
    assert "name" in problems_of(VALID, Path("tenants/globex.yaml"))


def test_unreadable_yaml_names_the_file(tmp_path):
    bad = tmp_path / "tenants" / "acme.yaml"
    bad.parent.mkdir()
    bad.write_text("name: [unclosed")
    with pytest.raises(TenantConfigError) as caught:
        load_tenant(bad)
    assert caught.value.file == bad and caught.value.problems[0].field == "(file)"


def test_validate_all_keeps_going_past_a_bad_file(tmp_path):
    (tmp_path / "tenants").mkdir()
    (tmp_path / "tenants" / "acme.yaml").write_text(yaml.safe_dump(VALID))
    (tmp_path / "tenants" / "bad.yaml").write_text(yaml.safe_dump({"name": "bad", "region": "nowhere"}))
    results = validate_all(tmp_path)
    assert not isinstance(results["acme"], TenantConfigError)
    assert isinstance(results["bad"], TenantConfigError)


def test_the_example_tenants_are_valid():
    root = Path(__file__).resolve().parents[2]
    assert all(not isinstance(r, TenantConfigError) for r in validate_all(root).values())


def test_a_removed_field_is_named_with_why_and_what_to_do():
    # GIVEN a tenant file written before archive_glacier_transition_days was removed
    old = {**VALID, "archive_glacier_transition_days": 90, "archive_retention_days": 3650}
    # WHEN it is loaded THEN the error names the field, says it never applied, and what to do
    problem = problems_of(old)["archive_glacier_transition_days"]
    assert problem.message == REMOVED_FIELDS["archive_glacier_transition_days"]
    # ... alongside the file's other problems, all at once
    assert set(problems_of({**old, "region": "mars-1"})) == {"archive_glacier_transition_days", "region"}
