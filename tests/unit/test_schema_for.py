"""`schema_for`: the one schema file as each tenant's API declares it (Pulumi and the local platform
call the same function), and the modes AppSync then admits on every field and type."""

from __future__ import annotations

import pytest

from tenantry.appsync.schema import allowed_modes, build_appsync_schema
from tenantry.appsync.spec import API_KEY, API_SPEC, AWS_IAM, OIDC, USER_POOLS, schema_for

pytestmark = pytest.mark.unit

ROOTS = ("Query", "Mutation", "Subscription")
RETURNED = ("Account", "AccountPage", "LedgerEntry", "LedgerPage", "CommandResult", "TransferResult", "AccountUpdate")


def modes_of(sdl: str) -> dict[tuple[str, str], frozenset[str]]:
    schema = build_appsync_schema(sdl)
    return {(t, f): allowed_modes(schema, t, f, default_mode="undeclared")
            for t in (*ROOTS, *RETURNED) for f in schema.type_map[t].fields}   # type: ignore[attr-defined]


@pytest.mark.parametrize("default_mode, api_key, users", [
    (USER_POOLS, False, {USER_POOLS}),
    (USER_POOLS, True, {USER_POOLS, API_KEY}),
    (OIDC, False, {OIDC}),
    (OIDC, True, {OIDC, API_KEY}),
    (API_KEY, True, {API_KEY}),          # the API as it was before users
])
def test_every_field_admits_users_in_the_tenants_mode_and_services_where_the_contract_says(default_mode, api_key,
                                                                                          users):
    # WHEN the schema is written for a tenant
    modes = modes_of(API_SPEC.schema(default_mode, api_key))
    # THEN publishing stays IAM only, subscriptions are for users, everything else for users and services
    assert modes.pop(("Mutation", "publishAccountUpdate")) == {AWS_IAM}
    subscriptions = {k: v for k, v in modes.items() if k[0] == "Subscription"}
    assert set(subscriptions.values()) == {frozenset(users)}
    others = {v for k, v in modes.items() if k[0] != "Subscription"}
    assert others == {frozenset(users | {AWS_IAM})}
    # AND every annotated field lists the default mode (AppSync refuses it otherwise)
    assert all(default_mode in v for k, v in modes.items())


def test_the_schema_file_uses_no_legacy_directive_and_names_the_user_pool():
    sdl = API_SPEC.schema(USER_POOLS, api_key=False)
    assert "@aws_auth" not in sdl and "@aws_api_key" not in sdl and "@aws_oidc" not in sdl


def test_an_oidc_schema_names_no_user_pool():
    assert "@aws_cognito_user_pools" not in API_SPEC.schema(OIDC, api_key=True)


def test_a_directive_with_groups_is_left_as_written():
    # `@aws_cognito_user_pools(cognito_groups: [...])` is a user-pool-only rule: not rewritten
    sdl = "type Query { a: Int @aws_cognito_user_pools(cognito_groups: [\"admins\"]) b: Int @aws_cognito_user_pools }"
    assert schema_for(sdl, OIDC, api_key=False) == (
        "type Query { a: Int @aws_cognito_user_pools(cognito_groups: [\"admins\"]) b: Int @aws_oidc }")


@pytest.mark.parametrize("mode", [AWS_IAM, "AWS_LAMBDA", "BASIC"])
def test_a_default_mode_users_cannot_have_is_refused(mode):
    with pytest.raises(ValueError):
        schema_for("type Query { a: Int }", mode, api_key=False)
