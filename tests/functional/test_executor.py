"""The local AppSync field executor against moto read-model tables and an in-process Lambda."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from tenantry.appsync import spec
from tenantry.appsync.executor import FieldCall, FieldExecutor, ResolverError
from tenantry.appsync.spec import API_SPEC, RESOLVER_DIR
from tenantry.ops.resources import create_read_model_tables as create_tables

pytestmark = pytest.mark.functional

ACCOUNTS, LEDGER = "acme-accounts", "acme-ledger"


def create_read_model_tables(client) -> None:
    create_tables(client, ACCOUNTS, LEDGER)


def account(account_id: str, owner: str = "alice", balance: int = 100) -> dict:
    return {"id": account_id, "ownerId": owner, "currency": "EUR", "balance": balance, "status": "OPEN",
            "version": 2, "openedAt": "2024-01-01T00:00:00.000000Z", "updatedAt": "2024-01-02T00:00:00.000000Z"}


def marshal(item: dict) -> dict:
    return {k: {"N": str(v)} if isinstance(v, int) else {"S": v} for k, v in item.items()}


@dataclass
class Backends:
    dynamodb: Any
    lambda_handler: Callable[[dict], Any] = lambda event: None
    events: list[dict] = field(default_factory=list)

    def table_name(self, data_source: str) -> str:
        return {spec.ACCOUNTS: ACCOUNTS, spec.LEDGER: LEDGER}[data_source]

    def invoke_lambda(self, data_source: str, event: dict) -> Any:
        assert data_source == spec.COMMANDS
        self.events.append(event)
        return self.lambda_handler(event)


@pytest.fixture
def backends(dynamodb) -> Backends:
    create_read_model_tables(dynamodb)
    return Backends(dynamodb)


@pytest.fixture
def executor(backends):
    with FieldExecutor(API_SPEC, RESOLVER_DIR, backends) as ex:
        yield ex


def call(type_name: str, field_name: str, identity: dict | None = None, **arguments) -> FieldCall:
    return FieldCall(type_name, field_name, arguments, None, identity, {"x-amzn-requestid": "req-1"},
                     ["id"], "{ id }")


def test_account_returns_the_item_as_is(executor, dynamodb):
    # GIVEN an account in the read model
    dynamodb.put_item(TableName=ACCOUNTS, Item=marshal(account("acc-1")))
    # WHEN it is queried THEN the unmarshalled item is the field value, numbers as ints
    outcome = executor.resolve(call("Query", "account", id="acc-1"))
    assert (outcome.data, outcome.errors) == (account("acc-1"), [])


def test_missing_account_is_null_without_error(executor):
    outcome = executor.resolve(call("Query", "account", id="nope"))
    assert (outcome.data, outcome.errors) == (None, [])


def test_accounts_pages_through_an_owners_accounts_with_an_opaque_token(executor, dynamodb):
    # GIVEN three accounts of alice and one of bob
    for account_id in ("a1", "a2", "a3"):
        dynamodb.put_item(TableName=ACCOUNTS, Item=marshal(account(account_id)))
    dynamodb.put_item(TableName=ACCOUNTS, Item=marshal(account("b1", owner="bob")))
    # WHEN alice's accounts are read two at a time
    first = executor.resolve(call("Query", "accounts", ownerId="alice", limit=2)).data
    second = executor.resolve(call("Query", "accounts", ownerId="alice", limit=2, nextToken=first["nextToken"])).data
    # THEN every account of alice comes back once, and only hers
    assert [a["id"] for a in first["items"] + second["items"]] == ["a1", "a2", "a3"]
    assert second["nextToken"] is None


@pytest.mark.parametrize("owner_id, accepted", [("\U0001F600" * 64, True), ("\U0001F600" * 100, False)])
def test_accounts_measures_an_owner_id_as_open_account_does(executor, dynamodb, owner_id, accepted):
    # GIVEN an account whose owner id is 64 emoji (128 UTF-16 units, the most openAccount accepts)
    dynamodb.put_item(TableName=ACCOUNTS, Item=marshal(account("e1", owner="\U0001F600" * 64)))
    # WHEN an owner id is listed THEN 64 emoji list that account, 100 emoji are refused as openAccount refuses them
    outcome = executor.resolve(call("Query", "accounts", ownerId=owner_id))
    if accepted:
        assert ([a["id"] for a in outcome.data["items"]], outcome.errors) == (["e1"], [])
    else:
        assert [(e["errorType"], e["errorInfo"]) for e in outcome.errors] == [("ValidationError", {"fields": ["ownerId"]})]


def test_ledger_is_oldest_first(executor, dynamodb):
    for version in (3, 1, 2):
        dynamodb.put_item(TableName=LEDGER, Item=marshal({
            "accountId": "acc-1", "version": version, "kind": "DEPOSIT", "amount": 1, "balanceAfter": version,
            "occurredAt": "2024-01-01T00:00:00Z"}))
    page = executor.resolve(call("Query", "ledger", accountId="acc-1")).data
    assert [entry["version"] for entry in page["items"]] == [1, 2, 3]
    assert page["nextToken"] is None


def forged_token(key: dict) -> str:
    """A token in the twin's first format: the base64 of a start key anyone could write."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


@pytest.mark.parametrize("field, arguments", [("accounts", {"ownerId": "o"}), ("ledger", {"accountId": "acc-1"})])
@pytest.mark.parametrize("token", [
    "garbage", "%%%not-a-token", "é", "eyJ2ZXJzaW9uIjoxfQ==.0000",
    forged_token({"id": "plain"}),                           # botocore raised on this one before
    forged_token({"id": {"S": "a1"}, "ownerId": {"S": "o"}}),
])
def test_a_next_token_the_twin_did_not_issue_is_a_validation_error(executor, field, arguments, token):
    # GIVEN a nextToken that is not one this API issued WHEN the page is requested
    outcome = executor.resolve(call("Query", field, nextToken=token, **arguments))
    # THEN the field fails with ValidationError naming nextToken
    assert outcome.data is None
    assert [(e["errorType"], e["message"], e["errorInfo"], e["path"]) for e in outcome.errors] == [
        ("ValidationError", "nextToken is not valid", {"fields": ["nextToken"]}, [field])]


def test_a_tampered_next_token_is_a_validation_error(executor, dynamodb):
    # GIVEN a real token whose start key a client rewrote
    for account_id in ("a1", "a2"):
        dynamodb.put_item(TableName=ACCOUNTS, Item=marshal(account(account_id)))
    token = executor.resolve(call("Query", "accounts", ownerId="alice", limit=1)).data["nextToken"]
    _, mac = token.split(".")
    tampered = forged_token({"key": {"id": {"S": "a0"}, "ownerId": {"S": "alice"}}}) + "." + mac
    # WHEN it is sent THEN it is not valid
    outcome = executor.resolve(call("Query", "accounts", ownerId="alice", nextToken=tampered))
    assert [e["errorType"] for e in outcome.errors] == ["ValidationError"]


def test_a_next_token_of_another_query_is_a_validation_error(executor, dynamodb):
    # GIVEN a real token from alice's first page
    for account_id in ("a1", "a2"):
        dynamodb.put_item(TableName=ACCOUNTS, Item=marshal(account(account_id)))
    token = executor.resolve(call("Query", "accounts", ownerId="alice", limit=1)).data["nextToken"]
    # WHEN it is sent with bob's query (DynamoDB refuses a start key outside the key condition)
    outcome = executor.resolve(call("Query", "accounts", ownerId="bob", nextToken=token))
    # THEN it is not valid there
    assert [(e["errorType"], e["errorInfo"]) for e in outcome.errors] == [("ValidationError", {"fields": ["nextToken"]})]


def test_command_mutation_sends_the_direct_lambda_event(executor, backends):
    # GIVEN a Lambda that succeeds
    result = {"accountId": "acc-1", "version": 2, "balance": 5, "commandId": "c-1"}
    backends.lambda_handler = lambda event: result
    # WHEN a deposit is resolved
    outcome = executor.resolve(call("Mutation", "deposit", input={"accountId": "acc-1", "amount": 5, "commandId": "c-1"}))
    # THEN the Lambda saw AppSync's direct-Lambda event and the result is the field value
    assert (outcome.data, outcome.errors) == (result, [])
    event = backends.events[0]
    assert event["arguments"] == {"input": {"accountId": "acc-1", "amount": 5, "commandId": "c-1"}}
    assert event["info"]["fieldName"] == "deposit" and event["info"]["parentTypeName"] == "Mutation"
    assert event["request"]["headers"] == {"x-amzn-requestid": "req-1"}
    assert event["identity"] is None


def test_a_domain_error_reported_by_the_lambda_has_its_error_type(executor, backends):
    backends.lambda_handler = lambda event: {"error": {"message": "no funds", "type": "InsufficientFunds",
                                                       "info": {"balance": 0}}}
    outcome = executor.resolve(call("Mutation", "withdraw", input={"accountId": "a", "amount": 5, "commandId": "c"}))
    assert outcome.data is None
    assert outcome.errors == [{"message": "no funds", "errorType": "InsufficientFunds", "data": None,
                               "errorInfo": {"balance": 0}, "path": ["withdraw"], "locations": []}]


def test_an_unhandled_lambda_failure_is_an_internal_failure_with_its_text_only_in_the_log(executor, backends, caplog):
    # GIVEN a Lambda that crashes with a message naming internals
    def crash(event: dict) -> Any:
        raise RuntimeError("boom: table acme-events, key victim")
    backends.lambda_handler = crash
    # WHEN a field resolved by it is called
    with caplog.at_level(logging.ERROR, logger="tenantry.appsync.resolvers"):
        outcome = executor.resolve(call("Query", "accountAt", id="acc-1"))
    # THEN the client gets InternalFailure, an error id and Lambda's error type, and not the text
    assert outcome.data is None
    [error] = outcome.errors
    error_id = error["errorInfo"]["errorId"]
    assert (error["errorType"], error["message"]) == ("InternalFailure", f"An internal error occurred (error id {error_id})")
    assert error["errorInfo"]["cause"] == "Lambda:Unhandled"
    # AND the log has the text under that id
    assert any(error_id in r.getMessage() and "boom: table acme-events" in r.getMessage() for r in caplog.records)


def test_publish_echoes_its_input_through_the_none_data_source(executor):
    update = {"accountId": "a", "balance": 1, "version": 2, "status": "OPEN", "updatedAt": "2024-01-01T00:00:00Z"}
    outcome = executor.resolve(call("Mutation", "publishAccountUpdate", identity={"accountId": "1"}, input=update))
    assert (outcome.data, outcome.errors) == (update, [])


def test_subscription_filter_selects_the_account(executor):
    filters = executor.subscription_filter(call("Subscription", "onAccountUpdated", accountId="acc-1"))
    assert filters == {"filterGroup": [{"filters": [{"fieldName": "accountId", "operator": "eq", "value": "acc-1"}]}]}


BOB = {"sub": "bob", "issuer": "https://cognito-idp.eu-west-1.amazonaws.com/p", "claims": {"sub": "bob"},
       "groups": None, "username": "bob", "sourceIp": ["127.0.0.1"], "defaultAuthStrategy": "ALLOW"}


def test_a_subscription_resolver_reads_its_data_source_when_a_client_subscribes(executor, dynamodb):
    # GIVEN alice's account in the read model
    dynamodb.put_item(TableName=ACCOUNTS, Item=marshal(account("acc-1", owner="alice")))
    # WHEN bob subscribes to it, and to an id nobody opened
    with pytest.raises(ResolverError) as raised:
        executor.subscription_filter(call("Subscription", "onAccountUpdated", identity=BOB, accountId="acc-1"))
    unopened = executor.subscription_filter(call("Subscription", "onAccountUpdated", identity=BOB, accountId="acc-2"))
    # THEN the GetItem found alice as the owner: refused; the other is filtered on bob as the owner
    assert raised.value.error["errorType"] == "Unauthorized"
    assert unopened == {"filterGroup": [{"filters": [{"fieldName": "accountId", "operator": "eq", "value": "acc-2"},
                                                     {"fieldName": "ownerId", "operator": "eq", "value": "bob"}]}]}


def test_a_refused_subscription_raises_resolver_error(tmp_path, backends):
    (tmp_path / "Subscription.onAccountUpdated.js").write_text(
        "import { util } from '@aws-appsync/utils';\n"
        "export function request(ctx) { util.unauthorized(); }\nexport function response(ctx) { return null; }")
    only_subscription = spec.ApiSpec(API_SPEC.data_sources, tuple(
        r for r in API_SPEC.resolvers if (r.type_name, r.field_name) == ("Subscription", "onAccountUpdated")))
    with FieldExecutor(only_subscription, tmp_path, backends) as ex, pytest.raises(ResolverError) as raised:
        ex.subscription_filter(call("Subscription", "onAccountUpdated", accountId="acc-1"))
    assert raised.value.error["errorType"] == "Unauthorized"
