"""The command Lambda on moto, called by users, admins, services and the API key as AppSync
identifies them: who may run which command (DESIGN section 3), what a refusal writes (nothing)
and who the stored events say acted."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.eventstore.dynamodb import DynamoDBEventStore
from lambdas.handlers import commands, settings
from tests.aws import count_items
from tests.functional.test_command_handler import TENANT, LambdaContext, event

pytestmark = pytest.mark.functional

POOL = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_example"
ROLE_ARN = "arn:aws:sts::123456789012:assumed-role/tenantry-acme-ops/session"


def user(name: str, *groups: str) -> dict:
    """`identity` as AppSync passes it for a user-pool caller (identity contract)."""
    sub = f"{name}-sub"
    return {"sub": sub, "issuer": POOL, "username": name, "sourceIp": ["127.0.0.1"],
            "claims": {"sub": sub, "cognito:username": name, "token_use": "id", "cognito:groups": list(groups)},
            "defaultAuthStrategy": "ALLOW", "groups": list(groups) or None}


IDENTITIES = {
    "alice": user("alice"),
    "bob": user("bob"),
    "ops": user("ops", "admins"),
    "service": {"accountId": "123456789012", "cognitoIdentityPoolId": None, "cognitoIdentityId": None,
                "sourceIp": ["127.0.0.1"], "username": "AROAEXAMPLE:session", "userArn": ROLE_ARN,
                "cognitoIdentityAuthType": None, "cognitoIdentityAuthProvider": None},
    "api key": None,
}


@pytest.fixture
def as_caller(events_table, monkeypatch):
    monkeypatch.setenv(settings.TENANT_ID, TENANT)
    monkeypatch.setenv(settings.EVENTS_TABLE, events_table)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    commands.service.cache_clear()
    commands.settings.cache_clear()

    def call(name: str, field_name: str, type_name: str = "Mutation", **arguments) -> Any:
        return commands.handler(event(type_name, field_name, arguments, IDENTITIES[name]), LambdaContext())

    yield call
    commands.service.cache_clear()
    commands.settings.cache_clear()


def open_for(as_caller, name: str, account_id: str, deposit: int = 100) -> dict:
    return as_caller(name, "openAccount", input={"accountId": account_id, "currency": "EUR",
                                                  "initialDeposit": deposit, "commandId": f"open-{account_id}"})


@pytest.fixture
def accounts(as_caller):
    """alice owns `alices` (100), bob owns `bobs` (100), both opened by their owners."""
    open_for(as_caller, "alice", "alices")
    open_for(as_caller, "bob", "bobs")
    return as_caller


BY_ALICE_ON_ALICES = [
    ("deposit", {"input": {"accountId": "alices", "amount": 5, "commandId": "x"}}),
    ("withdraw", {"input": {"accountId": "alices", "amount": 5, "commandId": "x"}}),
    ("transfer", {"input": {"fromAccountId": "alices", "toAccountId": "bobs", "amount": 5, "commandId": "x"}}),
    ("closeAccount", {"input": {"accountId": "alices", "commandId": "x"}}),
]


def stored(dynamodb, events_table, account_id: str) -> list:
    return [s.envelope for s in DynamoDBEventStore(events_table, dynamodb, tenant_id=TENANT).read(account_id)]


@pytest.mark.parametrize("field_name, arguments", BY_ALICE_ON_ALICES)
def test_another_user_cannot_move_or_close_an_account_and_nothing_is_written(accounts, dynamodb, events_table,
                                                                             field_name, arguments):
    # GIVEN alice's and bob's accounts
    before = count_items(dynamodb, events_table)
    # WHEN bob acts on alice's account THEN it is Unauthorized, naming the account, and nothing is written
    result = accounts("bob", field_name, **arguments)
    assert result["error"]["type"] == "Unauthorized"
    assert result["error"]["info"]["account_id"] == "alices"
    assert count_items(dynamodb, events_table) == before


@pytest.mark.parametrize("name", ["alice", "ops", "service", "api key"])
@pytest.mark.parametrize("field_name, arguments", BY_ALICE_ON_ALICES[:3])
def test_the_owner_admins_and_services_may(accounts, name, field_name, arguments):
    assert "error" not in accounts(name, field_name, **arguments)


def test_a_transfer_into_another_users_account_works_for_the_sender_only(accounts):
    # WHEN alice sends to bob, and bob tries to pull from alice
    sent = accounts("alice", "transfer", input={"fromAccountId": "alices", "toAccountId": "bobs", "amount": 30,
                                               "commandId": "t1"})
    pulled = accounts("bob", "transfer", input={"fromAccountId": "alices", "toAccountId": "bobs", "amount": 30,
                                               "commandId": "t2"})
    # THEN the first moved the money, the second is Unauthorized
    assert (sent["from"]["balance"], sent["to"]["balance"]) == (70, 130)
    assert pulled["error"]["type"] == "Unauthorized"


def test_another_user_cannot_read_an_account_as_of_a_version(accounts):
    assert accounts("bob", "accountAt", "Query", id="alices", version=1)["error"]["type"] == "Unauthorized"
    assert accounts("alice", "accountAt", "Query", id="alices", version=1)["balance"] == 100
    assert accounts("ops", "accountAt", "Query", id="alices")["ownerId"] == "alice-sub"


def test_repeating_another_users_command_id_reveals_nothing(accounts):
    # GIVEN alice's deposit
    first = accounts("alice", "deposit", input={"accountId": "alices", "amount": 5, "commandId": "d"})
    assert first["balance"] == 105
    # WHEN bob sends the same command (a replay), or the same id with another payload, or a stale version
    replayed = accounts("bob", "deposit", input={"accountId": "alices", "amount": 5, "commandId": "d"})
    conflicting = accounts("bob", "deposit", input={"accountId": "alices", "amount": 6, "commandId": "d"})
    stale = accounts("bob", "deposit", input={"accountId": "alices", "amount": 6, "commandId": "e",
                                              "expectedVersion": 9})
    # THEN each is Unauthorized: no balance, no version, no hint that the id was used
    assert [r["error"]["type"] for r in (replayed, conflicting, stale)] == ["Unauthorized"] * 3


def test_open_account_without_owner_id_is_owned_by_the_calling_user(as_caller, dynamodb, events_table):
    # WHEN alice opens an account without ownerId
    open_for(as_caller, "alice", "mine")
    # THEN she owns it, and the event says she acted
    [opened] = stored(dynamodb, events_table, "mine")
    assert (opened.data["owner_id"], opened.actor) == ("alice-sub", "alice-sub")
    assert as_caller("alice", "accountAt", "Query", id="mine")["ownerId"] == "alice-sub"


def test_repeating_open_account_without_owner_id_returns_the_original_result(as_caller, dynamodb, events_table):
    first = open_for(as_caller, "alice", "mine")
    before = count_items(dynamodb, events_table)
    assert open_for(as_caller, "alice", "mine") == first
    assert count_items(dynamodb, events_table) == before


@pytest.mark.parametrize("name, allowed", [("alice", False), ("ops", True), ("service", True), ("api key", True)])
def test_open_account_for_another_owner_only_for_admins_and_services(as_caller, dynamodb, events_table, name, allowed):
    # WHEN a caller opens an account for bob
    result = as_caller(name, "openAccount", input={"accountId": "for-bob", "ownerId": "bob-sub", "currency": "EUR",
                                                   "commandId": "o"})
    # THEN only an admin or a service may; a refusal writes nothing
    if allowed:
        assert result["version"] == 1
        assert stored(dynamodb, events_table, "for-bob")[0].data["owner_id"] == "bob-sub"
    else:
        assert result["error"]["type"] == "Unauthorized"
        assert count_items(dynamodb, events_table) == 0


@pytest.mark.parametrize("name", ["service", "api key"])
def test_a_service_must_name_the_owner(as_caller, dynamodb, events_table, name):
    result = as_caller(name, "openAccount", input={"accountId": "x", "currency": "EUR", "commandId": "o"})
    assert (result["error"]["type"], result["error"]["info"]["fields"]) == ("ValidationError", ["ownerId"])
    assert count_items(dynamodb, events_table) == 0


@pytest.mark.parametrize("name, actor", [("alice", "alice-sub"), ("ops", "ops-sub"), ("service", ROLE_ARN),
                                         ("api key", "api-key")])
def test_the_envelope_actor_is_the_callers_sub_role_arn_or_api_key(accounts, dynamodb, events_table, name, actor):
    result = accounts(name, "deposit", input={"accountId": "alices", "amount": 1,
                                              "commandId": f"by-{name.replace(' ', '-')}"})
    assert result["balance"] == 101
    assert stored(dynamodb, events_table, "alices")[-1].actor == actor


def test_an_identity_of_an_undeclared_mode_is_refused(as_caller, dynamodb, events_table, monkeypatch):
    monkeypatch.setitem(IDENTITIES, "lambda authorizer", {"resolverContext": {"user": "x"}})
    result = as_caller("lambda authorizer", "openAccount", input={"currency": "EUR", "ownerId": "x", "commandId": "o"})
    assert result["error"]["type"] == "Unauthorized"
    assert count_items(dynamodb, events_table) == 0
