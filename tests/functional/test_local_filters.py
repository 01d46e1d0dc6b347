"""Lambda event-filtering pattern subset, matched against records as Lambda sees them."""

from __future__ import annotations

import base64
import json

import pytest

from lambdas.eventstore import keys
from tenantry.local.errors import FilterPatternError
from tenantry.local.filters import filter_view, matches_any, parse_pattern

pytestmark = pytest.mark.functional


def _ddb(kind: str, version: str = "1", event_name: str = "INSERT") -> dict:
    return {"eventName": event_name,
            "dynamodb": {"NewImage": {keys.KIND: {"S": kind}, keys.SORT_KEY: {"N": version}}}}


def _kinesis(body: object) -> dict:
    return filter_view({"kinesis": {"data": base64.b64encode(json.dumps(body).encode()).decode()}}, "kinesis")


@pytest.mark.parametrize(("pattern", "record", "expected"), [
    ({"dynamodb": {"NewImage": {keys.KIND: {"S": [keys.KIND_EVENT]}}}}, _ddb("event"), True),
    ({"dynamodb": {"NewImage": {keys.KIND: {"S": [keys.KIND_EVENT]}}}}, _ddb("snapshot"), False),
    ({"eventName": ["INSERT", "MODIFY"]}, _ddb("event", event_name="REMOVE"), False),
    ({"dynamodb": {"NewImage": {keys.SORT_KEY: {"N": [{"numeric": [">", 1, "<=", 5]}]}}}}, _ddb("event", "5"), True),
    ({"dynamodb": {"NewImage": {keys.SORT_KEY: {"N": [{"numeric": [">", 1]}]}}}}, _ddb("event", "1"), False),
    ({"dynamodb": {"NewImage": {keys.KIND: {"S": [{"anything-but": ["snapshot"]}]}}}}, _ddb("event"), True),
    ({"dynamodb": {"NewImage": {keys.KIND: {"S": [{"anything-but": {"prefix": "ev"}}]}}}}, _ddb("event"), False),
    ({"dynamodb": {"NewImage": {"missing": [{"exists": False}]}}}, _ddb("event"), True),
    ({"dynamodb": {"NewImage": {"missing": {"S": [{"exists": True}]}}}}, _ddb("event"), False),
    ({"data": {"type": [{"prefix": "Dep"}]}}, _kinesis({"type": "Deposited"}), True),
    ({"data": {"tags": ["vip"]}}, _kinesis({"tags": ["new", "vip"]}), True),
    ({"data": {"amount": [100]}}, _kinesis({"amount": "100"}), False),
    ({"data": {"flag": [True]}}, _kinesis({"flag": 1}), False),
])
def test_pattern_matching(pattern, record, expected):
    # GIVEN a validated pattern WHEN matched against a record THEN the result follows Lambda's rules
    parsed = parse_pattern(json.dumps(pattern), "kinesis" if "data" in pattern else "dynamodb")
    assert matches_any([parsed], record) is expected


def test_patterns_are_ored_and_no_pattern_matches_everything():
    first = parse_pattern({"eventName": ["MODIFY"]}, "dynamodb")
    second = parse_pattern({"eventName": ["INSERT"]}, "dynamodb")
    assert matches_any([first, second], _ddb("event"))
    assert matches_any([], _ddb("event"))


@pytest.mark.parametrize(("raw", "kind"), [
    ('{"data": {"ip": [{"cidr": "10.0.0.0/24"}]}}', "kinesis"),
    ('{"kinesis": {"partitionKey": ["a"]}}', "kinesis"),
    ('{"eventName": "INSERT"}', "dynamodb"),
    ('{"eventName": [{"numeric": ["!", 1]}]}', "dynamodb"),
    ("not json", "dynamodb"),
])
def test_unsupported_or_invalid_patterns_are_refused(raw, kind):
    with pytest.raises(FilterPatternError):
        parse_pattern(raw, kind)
