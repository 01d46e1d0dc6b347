"""AWSDateTime inputs of time travel: every form AppSync lets through is either an instant in the
stored layout of `occurred_at` or a typed validation error, never an unhandled exception."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lambdas.banking import rules
from lambdas.banking.queries import AccountAt
from lambdas.eventstore.envelope import normalize_instant
from lambdas.eventstore.errors import InvalidInstantError

pytestmark = [pytest.mark.unit, pytest.mark.lambda_side]


@pytest.mark.parametrize("text, stored", [
    ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00.000000Z"),
    ("2024-05-01T10:00:00+00:00", "2024-05-01T10:00:00.000000Z"),
    ("2024-05-01T10:00:00-00:00", "2024-05-01T10:00:00.000000Z"),
    ("2024-05-01t10:00:00z", "2024-05-01T10:00:00.000000Z"),                  # RFC 3339 allows lower case
    ("2024-05-01T10:00Z", "2024-05-01T10:00:00.000000Z"),                     # seconds are optional
    ("2024-05-01T12:30:00+02:30", "2024-05-01T10:00:00.000000Z"),
    ("2024-05-01T00:00:00-05:00", "2024-05-01T05:00:00.000000Z"),
    ("2024-05-01T10:00:15+00:00:15", "2024-05-01T10:00:00.000000Z"),          # AWSDateTime offsets may have seconds
    ("2024-05-01T10:00:00.5Z", "2024-05-01T10:00:00.500000Z"),
    ("2024-05-01T10:00:00.123456789Z", "2024-05-01T10:00:00.123456Z"),        # nanoseconds truncated, never rounded up
    ("0318-04-27T04:59:20Z", "0318-04-27T04:59:20.000000Z"),                  # four digits, whatever strftime does
    ("0001-01-01T00:00:00-01:00", "0001-01-01T01:00:00.000000Z"),
    ("9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"),
    ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59.999999Z"),                  # a leap second: the end of its minute
    ("2017-01-01T00:59:60.5+01:00", "2016-12-31T23:59:59.999999Z"),
])
def test_an_aws_datetime_becomes_the_stored_layout(text, stored):
    # GIVEN an AWSDateTime WHEN it is normalized THEN it is UTC, fixed width, and normalizing is idempotent
    assert normalize_instant(text) == stored
    assert normalize_instant(stored) == stored


@pytest.mark.parametrize("text", [
    "0001-01-01T00:00:00+01:00",         # year 0 in UTC
    "9999-12-31T23:59:59-01:00",         # year 10000 in UTC
    "-2017-05-01T00:00:00Z",             # AWSDateTime admits negative years
    "0000-01-01T00:00:00Z",
    "2024-02-30T00:00:00Z",
    "2024-01-01T24:00:00Z",
    "2024-01-01T10:60:00Z",
    "2024-01-01T00:00:61Z",
    "2024-01-01T10:15:60Z",              # second 60 outside 23:59 UTC is no leap second
    "2024-01-01T00:00:00+24:00",
    "2024-01-01T00:00:00+01:60",
    "2024-01-01T00:00:00",               # no offset
    "2024-01-01",
    "2024-01-01 00:00:00Z",
    "2024-01-01T00:00:00Z\n",
    "2024-01-01T00:00:00.Z",
    "2024-01-01T00:00:00.1234567890Z",
    "２０２４-01-01T00:00:00Z",          # non-ASCII digits
    "",
    "yesterday",
])
def test_anything_else_is_an_invalid_instant_error(text):
    with pytest.raises(InvalidInstantError) as raised:
        normalize_instant(text)
    assert raised.value.text == text and raised.value.reason


def test_an_invalid_instant_is_a_value_error_so_pydantic_reports_it():
    assert issubclass(InvalidInstantError, ValueError)


@pytest.mark.parametrize("at", [
    "0318-04-27T04:59:20Z",              # what the fuzzer sent: a Lambda:Unhandled before
    "1969-12-31T23:59:59.999999Z",
    "1970-01-01T00:30:00+01:00",         # 1969 in UTC
    "9999-12-31T23:59:59-01:00",
    "2024-01-01T10:15:60Z",
])
def test_account_at_refuses_instants_it_cannot_answer_naming_the_field(at):
    # GIVEN an AWSDateTime outside what time travel answers WHEN the query is validated
    with pytest.raises(ValidationError) as raised:
        AccountAt.model_validate({"id": "acc-1", "at": at})
    # THEN it is a validation error on `at`
    assert [e["loc"] for e in raised.value.errors()] == [("at",)]


def test_account_at_accepts_the_epoch_and_normalizes_the_instant():
    assert AccountAt.model_validate({"id": "acc-1", "at": "1970-01-01T01:00:00+01:00"}).at == rules.EARLIEST_INSTANT
