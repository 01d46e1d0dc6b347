"""Query resolvers in V8: the DynamoDB requests they build and how they surface errors."""

from __future__ import annotations

import pytest

from lambdas.banking import readmodel_keys as rk
from tenantry.appsync.spec import API_SPEC

pytestmark = pytest.mark.unit


def ctx(**arguments) -> dict:
    return {"arguments": arguments, "identity": None, "source": None, "stash": {}, "prev": None,
            "request": {"headers": {}}, "info": {}}


def test_account_gets_the_item_by_its_partition_key(runtime):
    # GIVEN an account id WHEN the request handler runs
    request = runtime.run("Query.account.js", "request", ctx(id="acc-1")).value
    # THEN it is a GetItem on the accounts key
    assert request == {"operation": "GetItem", "key": {rk.ACCOUNTS_PARTITION_KEY: {"S": "acc-1"}}}


def test_accounts_queries_the_owner_index(runtime):
    request = runtime.run("Query.accounts.js", "request", ctx(ownerId="alice")).value
    assert request["operation"] == "Query"
    assert request["index"] == rk.ACCOUNTS_BY_OWNER_INDEX
    query = request["query"]
    assert list(query["expressionNames"].values()) == [rk.ACCOUNTS_BY_OWNER_PARTITION_KEY]
    assert list(query["expressionValues"].values()) == [{"S": "alice"}]


def test_ledger_queries_oldest_first_on_the_account_partition(runtime):
    request = runtime.run("Query.ledger.js", "request", ctx(accountId="acc-1")).value
    assert "index" not in request
    assert request["scanIndexForward"] is True
    assert list(request["query"]["expressionNames"].values()) == [rk.LEDGER_PARTITION_KEY]
    assert list(request["query"]["expressionValues"].values()) == [{"S": "acc-1"}]


@pytest.mark.parametrize("code_file, key", [("Query.accounts.js", "ownerId"), ("Query.ledger.js", "accountId")])
@pytest.mark.parametrize("limit, expected", [(None, 50), (0, 1), (-7, 1), (1, 1), (100, 100), (101, 100), (10_000, 100)])
def test_limit_defaults_to_50_and_is_clamped_to_1_100(runtime, code_file, key, limit, expected):
    request = runtime.run(code_file, "request", ctx(**{key: "x", "limit": limit})).value
    assert request["limit"] == expected


@pytest.mark.parametrize("code_file, key", [("Query.accounts.js", "ownerId"), ("Query.ledger.js", "accountId")])
def test_next_token_is_passed_through_untouched(runtime, code_file, key):
    request = runtime.run(code_file, "request", ctx(**{key: "x", "nextToken": "opaque+/=="})).value
    assert request["nextToken"] == "opaque+/=="


PAGED = [("Query.accounts.js", "ownerId"), ("Query.ledger.js", "accountId")]


def failed(key: str, error_type: str, **arguments) -> dict:
    return {**ctx(**{key: "x"}, **arguments), "result": None, "error": {"message": "detail", "type": error_type}}


@pytest.mark.parametrize("code_file, key", PAGED)
@pytest.mark.parametrize("error_type", ["DynamoDB:UserIllegalArgumentException",   # AppSync cannot decrypt it
                                        "DynamoDB:DynamoDbException"])             # DynamoDB refuses its start key
def test_a_next_token_appsync_cannot_use_is_a_validation_error(runtime, code_file, key, error_type):
    # GIVEN a request with a nextToken WHEN the data source fails the way AppSync fails a bad token
    evaluation = runtime.run(code_file, "response", failed(key, error_type, nextToken="garbage"))
    # THEN the client is told its token is not valid, and no internal failure is logged
    assert evaluation.error == {"message": "nextToken is not valid", "errorType": "ValidationError", "data": None,
                                "errorInfo": {"fields": ["nextToken"]}}
    assert evaluation.logs == []


@pytest.mark.parametrize("code_file, key", PAGED)
def test_without_a_next_token_a_dynamodb_exception_is_an_internal_failure(runtime, code_file, key):
    evaluation = runtime.run(code_file, "response", failed(key, "DynamoDB:DynamoDbException"))
    assert evaluation.error["errorType"] == "InternalFailure"


@pytest.mark.parametrize("code_file, key", PAGED)
def test_with_a_next_token_a_throttle_is_still_an_internal_failure(runtime, code_file, key):
    evaluation = runtime.run(code_file, "response",
                             failed(key, "DynamoDB:ProvisionedThroughputExceededException", nextToken="t"))
    assert evaluation.error["errorType"] == "InternalFailure"


@pytest.mark.parametrize("code_file, key", PAGED)
def test_an_empty_next_token_is_refused_before_the_data_source(runtime, code_file, key):
    evaluation = runtime.run(code_file, "request", ctx(**{key: "x", "nextToken": ""}))
    assert (evaluation.outcome, evaluation.error["errorType"]) == ("error", "ValidationError")
    assert evaluation.error["errorInfo"] == {"fields": ["nextToken"]}


@pytest.mark.parametrize("code_file, key", PAGED)
def test_page_response_keeps_items_and_next_token(runtime, code_file, key):
    response_ctx = {**ctx(**{key: "x"}), "result": {"items": [{"id": "a"}], "nextToken": "t", "scannedCount": 1}}
    assert runtime.run(code_file, "response", response_ctx).value == {"items": [{"id": "a"}], "nextToken": "t"}


@pytest.mark.parametrize("code_file", sorted({r.code_file for r in API_SPEC.resolvers}))
def test_every_response_hides_a_data_source_failure_behind_an_error_id(runtime, code_file):
    # GIVEN a data source failure WHEN any response handler runs
    failed = {**ctx(id="a", ownerId="o", accountId="a"), "result": None,
              "error": {"message": "Throughput exceeded on table acme-accounts", "type": "DynamoDB:ProvisionedThroughputExceededException"}}
    evaluation = runtime.run(code_file, "response", failed)
    # THEN the field fails with InternalFailure, an error id and the data source's error type, not its text
    assert evaluation.outcome == "error"
    error_id = evaluation.error["errorInfo"]["errorId"]
    assert evaluation.error == {"message": f"An internal error occurred (error id {error_id})", "errorType": "InternalFailure",
                                "data": None, "errorInfo": {"errorId": error_id, "cause": "DynamoDB:ProvisionedThroughputExceededException"}}
    # AND the text is logged under that id
    assert [line["level"] for line in evaluation.logs] == ["ERROR"]
    assert error_id in evaluation.logs[0]["message"] and "acme-accounts" in evaluation.logs[0]["message"]


@pytest.mark.parametrize("code_file, arguments, field", [
    ("Query.account.js", {"id": ""}, "id"),
    ("Query.account.js", {"id": "a" * 65}, "id"),
    ("Query.account.js", {"id": "a b"}, "id"),
    ("Query.ledger.js", {"accountId": "x/y"}, "accountId"),
    ("Query.accounts.js", {"ownerId": ""}, "ownerId"),
    ("Query.accounts.js", {"ownerId": "o" * 129}, "ownerId"),
])
def test_malformed_keys_are_validation_errors_not_dynamodb_errors(runtime, code_file, arguments, field):
    # GIVEN a key no item can have WHEN the request handler runs THEN it stops with ValidationError
    outcome = runtime.run(code_file, "request", ctx(**arguments))
    assert outcome.outcome == "error"
    assert outcome.error["errorType"] == "ValidationError"
    assert outcome.error["message"].startswith(field)
