"""The generic Lambda resolver, the NONE publish resolver and the subscription filter, in V8."""

from __future__ import annotations

import re

import pytest

from tenantry.appsync.filters import UnknownFilterOperatorError, filter_matches

pytestmark = pytest.mark.unit


def ctx(**arguments) -> dict:
    return {
        "arguments": arguments, "identity": {"accountId": "123456789012", "userArn": "arn:aws:iam::1:role/x"},
        "source": None, "stash": {}, "prev": None, "request": {"headers": {"x-amzn-requestid": "r-1"}},
        "info": {"fieldName": "deposit", "parentTypeName": "Mutation", "variables": {},
                 "selectionSetList": ["version"], "selectionSetGraphQL": "{ version }"},
    }


def test_lambda_request_is_the_direct_lambda_event(runtime):
    call = ctx(input={"accountId": "a", "amount": 5, "commandId": "c"})
    request = runtime.run("lambda.js", "request", call).value
    assert request["operation"] == "Invoke"
    assert request["payload"] == {
        "arguments": call["arguments"], "identity": call["identity"], "source": None,
        "request": {"headers": {"x-amzn-requestid": "r-1"}}, "info": call["info"], "prev": None, "stash": {},
    }


def test_lambda_error_result_becomes_a_typed_graphql_error(runtime):
    # GIVEN the command Lambda reported a domain error in its result
    result = {"error": {"message": "balance 3 < 5", "type": "InsufficientFunds", "info": {"balance": 3}}}
    evaluation = runtime.run("lambda.js", "response", {**ctx(), "result": result, "error": None})
    # THEN the field fails with that errorType and the fields as errorInfo
    assert evaluation.outcome == "error"
    assert evaluation.error == {"message": "balance 3 < 5", "errorType": "InsufficientFunds", "data": None,
                                "errorInfo": {"balance": 3}}


@pytest.mark.parametrize("failure", [
    {"type": "Lambda:Unhandled", "message": "UnknownEventTypeError: victim v2: unknown event type X v1"},
    {"type": "Lambda:Unhandled", "message": "Task timed out after 10.01 seconds"},
    {"type": "Lambda:TooManyRequestsException", "message": "Rate Exceeded. (Service: Lambda, Request ID: 1)"},
])
def test_a_failed_lambda_invocation_is_a_generic_internal_failure(runtime, failure):
    # GIVEN the invocation itself failed (crash, timeout, throttle): AppSync's ctx.error
    evaluation = runtime.run("lambda.js", "response", {**ctx(), "result": None, "error": failure})
    # THEN the client sees InternalFailure with an error id, and none of the failure's text
    assert (evaluation.outcome, evaluation.error["errorType"]) == ("error", "InternalFailure")
    error_id = evaluation.error["errorInfo"]["errorId"]
    assert evaluation.error["message"] == f"An internal error occurred (error id {error_id})"
    assert evaluation.error["errorInfo"] == {"errorId": error_id, "cause": failure["type"]}
    assert re.fullmatch(r"[0-9a-f-]{36}", error_id)
    # AND the full text is logged under the same id
    [line] = evaluation.logs
    assert line["level"] == "ERROR" and error_id in line["message"] and failure["message"] in line["message"]


def test_an_internal_failure_reported_by_the_lambda_keeps_its_error_id(runtime):
    result = {"error": {"message": "An internal error occurred (error id r-9)", "type": "InternalFailure",
                        "info": {"errorId": "r-9"}}}
    evaluation = runtime.run("lambda.js", "response", {**ctx(), "result": result, "error": None})
    assert evaluation.error == {"message": "An internal error occurred (error id r-9)", "errorType": "InternalFailure",
                                "data": None, "errorInfo": {"errorId": "r-9"}}


def test_lambda_success_result_is_returned_as_is(runtime):
    result = {"accountId": "a", "version": 2, "balance": 5, "commandId": "c"}
    assert runtime.run("lambda.js", "response", {**ctx(), "result": result, "error": None}).value == result


def test_lambda_null_result_is_null(runtime):
    evaluation = runtime.run("lambda.js", "response", {**ctx(), "result": None, "error": None})
    assert (evaluation.outcome, evaluation.value) == ("ok", None)


def test_publish_passes_its_input_to_the_none_data_source(runtime):
    update = {"accountId": "a", "balance": 1, "version": 2, "status": "OPEN", "updatedAt": "2024-01-01T00:00:00Z"}
    request = runtime.run("Mutation.publishAccountUpdate.js", "request", ctx(input=update)).value
    assert request == {"payload": update}
    assert runtime.run("Mutation.publishAccountUpdate.js", "response", {**ctx(input=update), "result": update}).value == update


def test_subscription_filters_on_the_requested_account(runtime):
    evaluation = runtime.run("Subscription.onAccountUpdated.js", "response", {**ctx(accountId="acc-9"), "result": None})
    assert evaluation.value is None
    assert evaluation.subscription_filter == {
        "filterGroup": [{"filters": [{"fieldName": "accountId", "operator": "eq", "value": "acc-9"}]}]}
    assert filter_matches(evaluation.subscription_filter, {"accountId": "acc-9", "balance": 1})
    assert not filter_matches(evaluation.subscription_filter, {"accountId": "acc-8", "balance": 1})


def group(*filters: tuple[str, str, object]) -> dict:
    return {"filters": [{"fieldName": f, "operator": op, "value": v} for f, op, v in filters]}


@pytest.mark.parametrize("rule, payload, expected", [
    (("balance", "eq", 5), {"balance": 5}, True),
    (("balance", "ne", 5), {"balance": 5}, False),
    (("balance", "lt", 5), {"balance": 4}, True),
    (("balance", "le", 5), {"balance": 5}, True),
    (("balance", "gt", 5), {"balance": 5}, False),
    (("balance", "ge", 5), {"balance": 5}, True),
    (("balance", "between", [1, 5]), {"balance": 5}, True),
    (("balance", "between", [1, 5]), {"balance": 6}, False),
    (("status", "in", ["OPEN"]), {"status": "OPEN"}, True),
    (("status", "notIn", ["OPEN"]), {"status": "OPEN"}, False),
    (("accountId", "beginsWith", "acc-"), {"accountId": "acc-1"}, True),
    (("accountId", "contains", "c-1"), {"accountId": "acc-1"}, True),
    (("accountId", "notContains", "c-1"), {"accountId": "acc-1"}, False),
    (("missing", "eq", 1), {"balance": 1}, False),
    (("missing", "ne", 1), {"balance": 1}, True),
    (("missing", "attributeExists", False), {"balance": 1}, True),
    (("owner.id", "eq", "o"), {"owner": {"id": "o"}}, True),
    (("balance", "lt", 5), {"balance": "x"}, False),
])
def test_filter_operators(rule, payload, expected):
    assert filter_matches({"filterGroup": [group(rule)]}, payload) is expected


def test_groups_are_ored_and_rules_within_a_group_anded():
    filters = {"filterGroup": [group(("a", "eq", 1), ("b", "eq", 2)), group(("c", "eq", 3))]}
    assert filter_matches(filters, {"a": 1, "b": 2})
    assert not filter_matches(filters, {"a": 1, "b": 3})
    assert filter_matches(filters, {"c": 3})


def test_no_filter_matches_everything():
    assert filter_matches(None, {"accountId": "x"})


def test_unknown_operator_fails_loudly():
    with pytest.raises(UnknownFilterOperatorError) as raised:
        filter_matches({"filterGroup": [group(("a", "regex", "x"))]}, {"a": "x"})
    assert raised.value.operator == "regex"
