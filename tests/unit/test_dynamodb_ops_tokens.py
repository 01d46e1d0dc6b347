"""The twin's nextToken: only tokens it issued, for the query that issued them, become start keys;
anything else fails with the errorType AppSync gives it."""

from __future__ import annotations

import pytest

from tenantry.appsync.dynamodb_ops import (DataSourceError, InvalidPaginationTokenError, StartKeyOutsideQueryError,
                                           decode_token, encode_token)

pytestmark = pytest.mark.unit

KEY = {"accountId": {"S": "acc-1"}, "version": {"N": "7"}}


def test_a_token_round_trips_within_its_scope():
    assert decode_token(encode_token(KEY, "scope-a"), "scope-a") == KEY


@pytest.mark.parametrize("token", [None, 7, {"k": 1}, "", "garbage", "é", "a.b", encode_token(KEY, "s") + "0"])
def test_a_token_it_did_not_issue_is_an_invalid_pagination_token(token):
    with pytest.raises(InvalidPaginationTokenError) as raised:
        decode_token(token, "s")
    assert raised.value.token == token
    assert raised.value.as_ctx_error()["type"] == "DynamoDB:UserIllegalArgumentException"


def test_a_token_of_another_query_is_refused_as_dynamodb_refuses_its_start_key():
    with pytest.raises(StartKeyOutsideQueryError) as raised:
        decode_token(encode_token(KEY, "scope-a"), "scope-b")
    assert isinstance(raised.value, DataSourceError)
    assert raised.value.as_ctx_error()["type"] == "DynamoDB:DynamoDbException"
