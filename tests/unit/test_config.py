"""Tenant file validation: every problem names the file, the field and the allowed values."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tenantry.config import (AWS_REGIONS, LOG_RETENTION_DAYS, OPT_IN_REGIONS, REMOVED_FIELDS, StreamMode,
                             TenantConfigError, load_tenant, parse_tenant, validate_all)

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
    assert [r.split(" ")[0] for r in problem.allowed.split(", ")] == list(AWS_REGIONS)
    # ... and says which of them must be enabled for the account first
    assert {r.split(" ")[0] for r in problem.allowed.split(", ") if "(opt-in" in r} == set(OPT_IN_REGIONS)


@pytest.mark.parametrize("region", OPT_IN_REGIONS)
def test_an_opt_in_region_is_accepted_with_a_warning_naming_it(region):
    config = parse_tenant({**VALID, "region": region}, FILE)
    [warning] = config.warnings
    assert warning.startswith(f"region: {region} is an opt-in region")


def test_a_default_region_has_no_warning():
    assert parse_tenant(VALID, FILE).warnings == ()


# Every value AWS would refuse, with the allowed values in the problem (AWS's own bounds).
@pytest.mark.parametrize("field, value, allowed", [
    ("api_key_expires_days", 0, ">= 1, <= 365"),                 # AppSync: 1..365 days
    ("api_key_expires_days", 366, ">= 1, <= 365"),
    ("stream_retention_hours", 23, ">= 24, <= 8760"),            # Kinesis retention
    ("stream_retention_hours", 8761, ">= 24, <= 8760"),
    ("archive_retention_days", 0, ">= 1"),                       # S3 lifecycle days are positive
    ("log_retention_days", 31, ", ".join(map(str, LOG_RETENTION_DAYS))),   # CloudWatch Logs values
    ("shard_count", 0, ">= 1, <= 500"),
    ("api_query_depth_limit", 76, ">= 1, <= 75"),
    ("api_resolver_count_limit", 10001, ">= 1, <= 10000"),
    ("projector_parallelization_factor", 11, ">= 1, <= 10"),
])
def test_values_aws_refuses_are_refused_with_their_allowed_values(field, value, allowed):
    data = {**VALID, field: value, **({"stream_mode": "PROVISIONED"} if field == "shard_count" else {})}
    assert problems_of(data)[field].allowed == allowed


def test_every_cloudwatch_retention_value_is_accepted():
    assert all(parse_tenant({**VALID, "log_retention_days": d}, FILE).log_retention_days == d for d in LOG_RETENTION_DAYS)


def test_the_key_check_threshold_must_be_below_the_key_lifetime():
    problem = problems_of({**VALID, "api_key_expires_days": 1, "api_key_renew_days_before": 1})
    assert "api_key_renew_days_before" in problem
    assert parse_tenant({**VALID, "api_key_expires_days": 1, "api_key_renew_days_before": 0}, FILE)


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


def test_users_sign_in_with_a_user_pool_and_no_api_key_by_default():
    # GIVEN a minimal tenant file
    config = parse_tenant(VALID, FILE)
    # THEN its users come from a Cognito pool, it has no API key, and alice, bob and ops (an admin) are dev users
    assert config.auth.users == "cognito" and config.auth.api_key is False and config.warnings == ()
    assert [(u.name, u.groups) for u in config.dev.users] == [("alice", ()), ("bob", ()), ("ops", ("admins",))]


def test_an_api_key_is_for_sandboxes_only_and_warned_about():
    # WHEN a non-sandbox tenant asks for an API key THEN it is refused, naming the tier rule
    problems = problems_of({**VALID, "tier": "premium", "auth": {"api_key": True}})
    assert set(problems) == {"auth.api_key"}
    # WHEN a sandbox asks THEN it gets one, with a warning
    config = parse_tenant({**VALID, "tier": "sandbox", "auth": {"api_key": True}}, FILE)
    assert config.auth.api_key and len(config.warnings) == 1


@pytest.mark.parametrize("auth, field", [
    ({"users": "oidc"}, "auth"),                                                  # issuer missing
    ({"oidc": {"issuer": "https://idp.example.com", "client_id": "web"}}, "auth"),  # oidc without users: oidc
    ({"users": "oidc", "oidc": {"issuer": "http://idp.example.com", "client_id": "web"}}, "auth.oidc.issuer"),
    ({"users": "oidc", "oidc": {"issuer": "https://idp.example.com/", "client_id": "web"}}, "auth.oidc.issuer"),
    ({"users": "ldap"}, "auth.users"),
    ({"mfa": "SMS"}, "auth.mfa"),
    ({"colour": "red"}, "auth.colour"),
])
def test_bad_auth_settings_name_the_nested_field(auth, field):
    problems = problems_of({**VALID, "auth": auth})
    assert field in problems
    if field in ("auth.users", "auth.mfa"):
        assert problems[field].allowed in ("cognito, oidc", "OFF, OPTIONAL, ON")


def test_an_oidc_tenant_names_its_issuer_and_client():
    config = parse_tenant({**VALID, "auth": {"users": "oidc", "oidc": {
        "issuer": "https://login.example.com/realms/bank", "client_id": "web"}}}, FILE)
    assert config.auth.oidc.issuer == "https://login.example.com/realms/bank"


@pytest.mark.parametrize("users, field", [
    ([{"name": "Alice"}], "dev.users.0.name"),
    ([{"name": "alice", "groups": ["root"]}], "dev.users.0.groups.0"),
    ([{"name": "alice"}, {"name": "alice"}], "dev.users"),
    ([], "dev.users"),
])
def test_bad_dev_users_are_refused(users, field):
    assert field in problems_of({**VALID, "dev": {"users": users}})


def test_a_removed_field_is_named_with_why_and_what_to_do():
    # GIVEN a tenant file written before archive_glacier_transition_days was removed
    old = {**VALID, "archive_glacier_transition_days": 90, "archive_retention_days": 3650}
    # WHEN it is loaded THEN the error names the field, says it never applied, and what to do
    problem = problems_of(old)["archive_glacier_transition_days"]
    assert problem.message == REMOVED_FIELDS["archive_glacier_transition_days"]
    # ... alongside the file's other problems, all at once
    assert set(problems_of({**old, "region": "mars-1"})) == {"archive_glacier_transition_days", "region"}
