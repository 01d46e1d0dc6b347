"""The command Lambda on moto, driven by AppSync direct-Lambda events: every mutation, every
error type, repeated command ids, and accountAt; then once through the real lambda.js resolver."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import pytest

from lambdas.eventstore import keys
from lambdas.handlers import commands, settings
from tenantry.appsync import spec
from tenantry.appsync.executor import FieldCall, FieldExecutor
from tenantry.appsync.spec import API_SPEC, RESOLVER_DIR
from tests.aws import count_items

pytestmark = pytest.mark.functional

TENANT = "acme"


@dataclass(frozen=True)
class LambdaContext:
    function_name: str = "tenantry-acme-command"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:tenantry-acme-command"
    aws_request_id: str = "req-1"


def event(type_name: str, field_name: str, arguments: dict, identity: dict | None = None) -> dict:
    return {
        "arguments": arguments, "identity": identity, "source": None,
        "request": {"headers": {"x-amzn-requestid": "appsync-req-1"}},
        "info": {"fieldName": field_name, "parentTypeName": type_name, "variables": {},
                 "selectionSetList": ["version"], "selectionSetGraphQL": "{ version }"},
        "prev": None, "stash": {},
    }


@pytest.fixture
def invoke(events_table, monkeypatch):
    monkeypatch.setenv(settings.TENANT_ID, TENANT)
    monkeypatch.setenv(settings.EVENTS_TABLE, events_table)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    commands.service.cache_clear()   # the store is per container; each test is a new container
    commands.settings.cache_clear()
    yield lambda type_name, field_name, arguments: commands.handler(
        event(type_name, field_name, arguments), LambdaContext())
    commands.service.cache_clear()
    commands.settings.cache_clear()


def mutation(invoke, field_name: str, **fields) -> Any:
    return invoke("Mutation", field_name, {"input": fields})


def open_account(invoke, account_id: str = "acc-1", currency: str = "EUR", deposit: int = 100) -> dict:
    return mutation(invoke, "openAccount", accountId=account_id, ownerId="alice", currency=currency,
                    initialDeposit=deposit, commandId=f"open-{account_id}")


def error_type(result: dict) -> str:
    return result["error"]["type"]


def test_every_mutation_returns_its_write_side_result(invoke):
    assert open_account(invoke, "a") == {"accountId": "a", "version": 1, "balance": 100, "commandId": "open-a"}
    open_account(invoke, "b", deposit=0)
    assert mutation(invoke, "deposit", accountId="a", amount=50, commandId="d1")["balance"] == 150
    assert mutation(invoke, "withdraw", accountId="a", amount=30, commandId="w1")["balance"] == 120
    moved = mutation(invoke, "transfer", transferId="t1", fromAccountId="a", toAccountId="b", amount=120,
                     commandId="t1")
    assert (moved["transferId"], moved["from"]["balance"], moved["to"]["balance"]) == ("t1", 0, 120)
    closed = mutation(invoke, "closeAccount", accountId="a", commandId="c1")
    assert closed["accountId"] == "a" and closed["balance"] == 0


@pytest.mark.parametrize("fields, field_name", [
    ({"accountId": "acc-1", "amount": 0, "commandId": "d"}, "amount"),
    ({"accountId": "bad id!", "amount": 5, "commandId": "d"}, "accountId"),
    ({"accountId": "acc-1", "amount": 5, "commandId": "d", "colour": "red"}, "colour"),
])
def test_invalid_input_is_a_validation_error_naming_the_field(invoke, dynamodb, events_table, fields, field_name):
    open_account(invoke)
    before = count_items(dynamodb, events_table)
    result = mutation(invoke, "deposit", **fields)
    assert error_type(result) == "ValidationError"
    assert field_name in result["error"]["info"]["fields"]
    assert count_items(dynamodb, events_table) == before


@pytest.mark.parametrize("owner_id, accepted", [
    ("\U0001F600" * 64, True),          # 128 UTF-16 units: the limit
    ("\U0001F600" * 100, False),        # 100 code points, 200 units: accepted before, and never listable
    ("a" * 127 + "\U0001F600", False),
])
def test_an_owner_id_is_measured_in_utf16_units_as_the_accounts_query_measures_it(invoke, dynamodb, events_table,
                                                                                 owner_id, accepted):
    # GIVEN an ownerId near the limit WHEN an account is opened for it
    result = mutation(invoke, "openAccount", accountId="acc-1", ownerId=owner_id, currency="EUR", commandId="o")
    # THEN it opens exactly when accounts(ownerId:) would list it; a refusal names ownerId and writes nothing
    if accepted:
        assert result["version"] == 1
    else:
        assert (error_type(result), result["error"]["info"]["fields"]) == ("ValidationError", ["ownerId"])
        assert count_items(dynamodb, events_table) == 0


@pytest.mark.parametrize("arrange, act, expected", [
    (lambda i: None, lambda i: mutation(i, "deposit", accountId="ghost", amount=5, commandId="d"), "AccountNotFound"),
    (open_account, lambda i: mutation(i, "openAccount", accountId="acc-1", ownerId="bob", currency="EUR",
                                      commandId="again"), "AccountAlreadyExists"),
    (lambda i: (open_account(i, deposit=0), mutation(i, "closeAccount", accountId="acc-1", commandId="c")),
     lambda i: mutation(i, "deposit", accountId="acc-1", amount=5, commandId="d"), "AccountClosed"),
    (open_account, lambda i: mutation(i, "withdraw", accountId="acc-1", amount=101, commandId="w"),
     "InsufficientFunds"),
    (lambda i: (open_account(i, "eur"), open_account(i, "usd", currency="USD")),
     lambda i: mutation(i, "transfer", fromAccountId="eur", toAccountId="usd", amount=5, commandId="t"),
     "CurrencyMismatch"),
    (lambda i: (open_account(i, deposit=1_000_000_000),
                mutation(i, "deposit", accountId="acc-1", amount=1_000_000_000, commandId="d1")),
     lambda i: mutation(i, "deposit", accountId="acc-1", amount=1_000_000_000, commandId="d2"),
     "BalanceLimitExceeded"),
    (open_account, lambda i: mutation(i, "deposit", accountId="acc-1", amount=5, commandId="d", expectedVersion=7),
     "ConcurrencyConflict"),
    (lambda i: (open_account(i), mutation(i, "deposit", accountId="acc-1", amount=5, commandId="d")),
     lambda i: mutation(i, "deposit", accountId="acc-1", amount=6, commandId="d"), "IdempotencyConflict"),
    (open_account, lambda i: mutation(i, "closeAccount", accountId="acc-1", commandId="c"), "ValidationError"),
])
def test_every_domain_error_has_its_error_type_and_writes_nothing(invoke, dynamodb, events_table,
                                                                 arrange, act, expected):
    # GIVEN the arranged history
    arrange(invoke)
    before = count_items(dynamodb, events_table)
    # WHEN the failing command runs THEN its errorType is the contract's and nothing was written
    assert error_type(act(invoke)) == expected
    assert count_items(dynamodb, events_table) == before


def test_repeating_a_command_returns_the_original_result_and_writes_nothing(invoke, dynamodb, events_table):
    open_account(invoke)
    first = mutation(invoke, "deposit", accountId="acc-1", amount=5, commandId="d")
    before = count_items(dynamodb, events_table)
    assert mutation(invoke, "deposit", accountId="acc-1", amount=5, commandId="d") == first
    assert count_items(dynamodb, events_table) == before


def test_account_at_folds_to_a_version(invoke):
    open_account(invoke)
    mutation(invoke, "deposit", accountId="acc-1", amount=5, commandId="d")
    then = invoke("Query", "accountAt", {"id": "acc-1", "version": 1})
    now = invoke("Query", "accountAt", {"id": "acc-1"})
    assert (then["balance"], then["version"]) == (100, 1)
    assert (now["balance"], now["version"]) == (105, 2)
    assert invoke("Query", "accountAt", {"id": "ghost"}) is None


@pytest.mark.parametrize("arguments, field", [
    ({"id": ""}, "id"),
    ({"id": "a" * 65}, "id"),
    ({"id": "acc-1", "version": 0}, "version"),
    ({"id": "acc-1", "at": "yesterday"}, "at"),
    ({"id": "acc-1", "at": "2026-01-01T00:00:00"}, "at"),
    ({"id": "acc-1", "at": "0318-04-27T04:59:20Z"}, "at"),          # was Lambda:Unhandled
    ({"id": "acc-1", "at": "0001-01-01T00:00:00+01:00"}, "at"),     # was an OverflowError
    ({"id": "acc-1", "at": "9999-12-31T23:59:59-01:00"}, "at"),
    ({"id": "acc-1", "at": "-2017-05-01T00:00:00Z"}, "at"),
    ({"id": "acc-1", "at": "2026-01-01T10:15:60Z"}, "at"),
    ({"id": "acc-1", "at": "2026-01-01T00:00:00+24:00"}, "at"),
])
def test_account_at_rejects_bad_arguments_naming_the_field(invoke, arguments, field):
    assert error_type(invoke("Query", "accountAt", arguments)) == "ValidationError"
    assert invoke("Query", "accountAt", arguments)["error"]["info"]["fields"] == [field]


@pytest.mark.parametrize("at", ["2999-01-01T00:00:00Z", "2999-01-01T00:00:00+00:00", "2999-01-01T05:30:00+05:30",
                                "2998-12-31T23:59:60Z", "2999-01-01T00:00:00.123456789-00:00"])
def test_account_at_answers_every_form_of_an_instant_alike(invoke, at):
    # GIVEN an account with two events
    open_account(invoke)
    mutation(invoke, "deposit", accountId="acc-1", amount=5, commandId="d")
    # WHEN it is read as of a later instant, written in any AWSDateTime form THEN it is the latest state
    assert invoke("Query", "accountAt", {"id": "acc-1", "at": at})["version"] == 2


def test_account_at_takes_a_version_or_an_instant_not_both(invoke):
    open_account(invoke)
    outcome = invoke("Query", "accountAt", {"id": "acc-1", "version": 1, "at": "2026-01-01T00:00:00Z"})
    assert error_type(outcome) == "ValidationError"


@dataclass
class InProcessLambda:
    dynamodb: Any

    def table_name(self, data_source: str) -> str:
        raise AssertionError("no table expected")

    def invoke_lambda(self, data_source: str, payload: dict) -> Any:
        assert data_source == spec.COMMANDS
        return commands.handler(payload, LambdaContext())


def test_through_lambda_js_a_domain_error_reaches_the_client_typed(invoke, dynamodb):
    # GIVEN the real resolver in front of the real handler
    with FieldExecutor(API_SPEC, RESOLVER_DIR, InProcessLambda(dynamodb)) as executor:
        # WHEN a deposit targets a missing account
        outcome = executor.resolve(FieldCall("Mutation", "deposit", {"input": {
            "accountId": "ghost", "amount": 5, "commandId": "d"}}, None, None, {}, ["version"], "{ version }"))
    # THEN the GraphQL error carries the domain errorType and its fields
    assert outcome.data is None
    [error] = outcome.errors
    assert (error["errorType"], error["errorInfo"], error["path"]) == ("AccountNotFound", {"account_id": "ghost"},
                                                                       ["deposit"])


def test_log_lines_carry_the_tenant_id(invoke, monkeypatch):
    # GIVEN the handler's log stream captured
    stream = captured_log(monkeypatch)
    # WHEN a command is rejected (it logs why)
    mutation(invoke, "deposit", accountId="ghost", amount=5, commandId="d")
    # THEN every line names the tenant
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines and all(line["tenant_id"] == TENANT for line in lines)


def corrupt_event_type(dynamodb, events_table, account_id: str, version: int) -> None:
    """The stored event at `version` gets an event type no code knows (a bad deploy, say)."""
    key = {"pk": {"S": account_id}, "v": {"N": str(version)}}
    item = dynamodb.get_item(TableName=events_table, Key=key)["Item"]
    dynamodb.put_item(TableName=events_table, Item=item | {keys.EVENT_TYPE: {"S": "MoneyTeleported"}})


def captured_log(monkeypatch) -> io.StringIO:
    stream = io.StringIO()
    monkeypatch.setattr(commands.logger.registered_handler, "stream", stream)
    return stream


def test_an_unreadable_history_is_an_internal_failure_with_an_error_id(invoke, dynamodb, events_table, monkeypatch):
    # GIVEN an account whose stored history holds an unknown event type
    open_account(invoke, "victim")
    mutation(invoke, "deposit", accountId="victim", amount=5, commandId="d1")
    corrupt_event_type(dynamodb, events_table, "victim", 2)
    before = count_items(dynamodb, events_table)
    log = captured_log(monkeypatch)
    # WHEN a command loads it
    result = mutation(invoke, "deposit", accountId="victim", amount=5, commandId="d2")
    # THEN the client gets the generic InternalFailure, its id the Lambda request id, none of the internals
    assert result == {"error": {"type": "InternalFailure", "message": "An internal error occurred (error id req-1)",
                                "info": {"errorId": "req-1"}}}
    # AND nothing was written
    assert count_items(dynamodb, events_table) == before
    # AND the log line under that id has the tenant, the traceback and the text
    [line] = [json.loads(raw) for raw in log.getvalue().splitlines() if "internal failure" in raw]
    assert (line["level"], line["error_id"], line["tenant_id"]) == ("ERROR", "req-1", TENANT)
    assert "UnknownEventTypeError" in line["exception"] and "Traceback" in line["exception"]
    assert "victim v2" in line["exception"]


def test_through_lambda_js_an_internal_failure_reaches_the_client_without_its_text(invoke, dynamodb, events_table):
    # GIVEN the real resolver in front of the real handler, and an account with an unreadable history
    open_account(invoke, "victim")
    mutation(invoke, "deposit", accountId="victim", amount=5, commandId="d1")
    corrupt_event_type(dynamodb, events_table, "victim", 2)
    with FieldExecutor(API_SPEC, RESOLVER_DIR, InProcessLambda(dynamodb)) as executor:
        # WHEN a deposit is resolved
        outcome = executor.resolve(FieldCall("Mutation", "deposit", {"input": {
            "accountId": "victim", "amount": 5, "commandId": "d2"}}, None, None, {}, ["version"], "{ version }"))
    # THEN the GraphQL error is InternalFailure with the error id, and nothing else
    [error] = outcome.errors
    assert (error["errorType"], error["message"], error["errorInfo"]) == (
        "InternalFailure", "An internal error occurred (error id req-1)", {"errorId": "req-1"})


def test_through_lambda_js_a_bad_instant_is_a_validation_error(invoke, dynamodb):
    with FieldExecutor(API_SPEC, RESOLVER_DIR, InProcessLambda(dynamodb)) as executor:
        outcome = executor.resolve(FieldCall("Query", "accountAt", {"id": "acc-1", "at": "0318-04-27T04:59:20Z"},
                                             None, None, {}, ["id"], "{ id }"))
    [error] = outcome.errors
    assert (error["errorType"], error["errorInfo"]) == ("ValidationError", {"fields": ["at"]})


def emitted_metrics(capsys) -> list[tuple[str, str, dict, float]]:
    """(namespace, metric, dimensions, value) of every EMF record the handler printed."""
    found = []
    for line in capsys.readouterr().out.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        record = json.loads(line)
        for directive in record["_aws"]["CloudWatchMetrics"]:
            [names] = directive["Dimensions"]
            for metric in directive["Metrics"]:
                found.append((directive["Namespace"], metric["Name"], {n: record[n] for n in names},
                              sum(record[metric["Name"]])))
    return found


def test_every_command_metric_carries_the_tenant_as_the_alarms_and_dashboard_read_it(
        invoke, dynamodb, events_table, capsys):
    # GIVEN one accepted command, one rejected and one that fails internally (an unreadable history)
    from lambdas.handlers import telemetry

    open_account(invoke, "victim")
    mutation(invoke, "deposit", accountId="ghost", amount=5, commandId="d0")
    corrupt_event_type(dynamodb, events_table, "victim", 1)
    capsys.readouterr()
    # WHEN they run again and their metrics are flushed
    open_account(invoke, "other")
    mutation(invoke, "deposit", accountId="ghost", amount=5, commandId="d1")
    mutation(invoke, "deposit", accountId="victim", amount=5, commandId="d2")
    found = emitted_metrics(capsys)
    # THEN each is in the contract's namespace with exactly the contract's dimensions
    own = telemetry.COMMANDS.dimensions(TENANT)
    assert sorted((name, value) for ns, name, dims, value in found if dims == own and ns == telemetry.NAMESPACE) == [
        ("Commands", 1), ("Commands", 1), ("Commands", 1), ("CommandsRejected", 1), ("InternalFailures", 1)]
    # ... and the rejection once more under its error type
    assert [(name, dims) for _, name, dims, _ in found if telemetry.ERROR_TYPE in dims] == [
        ("CommandsRejected", {**own, telemetry.ERROR_TYPE: "AccountNotFound"})]
