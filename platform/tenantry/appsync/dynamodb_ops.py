"""The AppSync DynamoDB request operations the resolvers use, executed on a botocore client.

Results take the shapes AppSync gives `ctx.result`: the unmarshalled item for GetItem and
`{items, nextToken, scannedCount}` for Query/Scan, and failures the errorType AppSync gives them.

`nextToken` is opaque to clients. AppSync's is the LastEvaluatedKey, encrypted: a client cannot
forge one; one that does not decrypt fails with `DynamoDB:UserIllegalArgumentException`; a real
one sent with another query has its start key refused by DynamoDB (a ValidationException, which
AppSync reports as `DynamoDB:DynamoDbException`). The twin's token is the key in JSON with a MAC,
so that only keys it issued reach DynamoDB (moto takes any start key, and botocore raises on a
malformed one), and with a digest of the query that issued it, to refuse it as DynamoDB would.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

_deserializer = TypeDeserializer()


class DataSourceError(Exception):
    """What AppSync puts in ctx.error when a data source call fails."""

    def __init__(self, message: str, error_type: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.message = message
        self.type = error_type

    def as_ctx_error(self) -> dict:
        return {"message": self.message, "type": self.type}


class InvalidPaginationTokenError(DataSourceError):
    """A nextToken this data source did not issue (AppSync: one that does not decrypt)."""

    def __init__(self, token: object) -> None:
        super().__init__("Invalid pagination token given.", "DynamoDB:UserIllegalArgumentException")
        self.token = token


class StartKeyOutsideQueryError(DataSourceError):
    """A nextToken issued for another query: DynamoDB refuses its start key."""

    def __init__(self) -> None:
        super().__init__("The provided starting key is outside query boundaries based on provided conditions",
                         "DynamoDB:DynamoDbException")


def execute(client: Any, table: str, request: dict) -> Any:
    operation = request.get("operation")
    handler = _OPERATIONS.get(operation)
    if handler is None:
        raise NotImplementedError(f"AppSync DynamoDB operation {operation!r} is not implemented locally")
    try:
        return handler(client, table, request)
    except ClientError as exc:
        error = exc.response["Error"]
        raise DataSourceError(error.get("Message", str(exc)), f"DynamoDB:{error['Code']}") from exc


def _get_item(client: Any, table: str, request: dict) -> Any:
    params = {"TableName": table, "Key": to_wire(request["key"]),
              "ConsistentRead": bool(request.get("consistentRead", False))}
    params.update(_projection(request.get("projection")))
    item = client.get_item(**params).get("Item")
    return None if item is None else unmarshall(item)


def _query(client: Any, table: str, request: dict) -> dict:
    query = request["query"]
    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": query["expression"],
        "ScanIndexForward": request.get("scanIndexForward", True),
        "ConsistentRead": bool(request.get("consistentRead", False)),
    }
    _add_expression_parts(params, query)
    if request.get("index"):
        params["IndexName"] = request["index"]
    return _paged(client.query, params, request)


def _scan(client: Any, table: str, request: dict) -> dict:
    params: dict[str, Any] = {"TableName": table, "ConsistentRead": bool(request.get("consistentRead", False))}
    if request.get("index"):
        params["IndexName"] = request["index"]
    return _paged(client.scan, params, request)


def _paged(call: Any, params: dict, request: dict) -> dict:
    scope = _token_scope(params)     # before the filter joins the expression parts
    if request.get("filter"):
        params["FilterExpression"] = request["filter"]["expression"]
        _add_expression_parts(params, request["filter"])
    params.update(_projection(request.get("projection")))
    if request.get("limit") is not None:
        params["Limit"] = int(request["limit"])
    if request.get("nextToken"):
        params["ExclusiveStartKey"] = decode_token(request["nextToken"], scope)
    page = call(**params)
    last = page.get("LastEvaluatedKey")
    return {
        "items": [unmarshall(item) for item in page.get("Items", [])],
        "nextToken": encode_token(last, scope) if last else None,
        "scannedCount": page.get("ScannedCount", 0),
    }


def _add_expression_parts(params: dict, expression: dict) -> None:
    if expression.get("expressionNames"):
        params.setdefault("ExpressionAttributeNames", {}).update(expression["expressionNames"])
    if expression.get("expressionValues"):
        params.setdefault("ExpressionAttributeValues", {}).update(to_wire(expression["expressionValues"]))


def _projection(projection: dict | None) -> dict:
    if not projection:
        return {}
    out = {"ProjectionExpression": projection["expression"]}
    if projection.get("expressionNames"):
        out["ExpressionAttributeNames"] = projection["expressionNames"]
    return out


# Integrity, not secrecy: the twin is local-only. A fixed key keeps tokens valid across restarts of
# `tenantry dev` (its state is restored), as AppSync's stay valid across its deployments.
_TOKEN_MAC_KEY = b"tenantry local AppSync twin: nextToken"


def _token_scope(params: dict) -> str:
    """What a start key must belong to: the table, index and key condition of the request."""
    parts = [params.get(k) for k in ("TableName", "IndexName", "KeyConditionExpression",
                                     "ExpressionAttributeNames", "ExpressionAttributeValues")]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def _mac(body: bytes) -> str:
    return hmac.new(_TOKEN_MAC_KEY, body, hashlib.sha256).hexdigest()[:32]


def encode_token(last_evaluated_key: dict, scope: str) -> str:
    body = json.dumps({"key": last_evaluated_key, "scope": scope}, sort_keys=True).encode()
    return f"{base64.urlsafe_b64encode(body).decode()}.{_mac(body)}"


def decode_token(token: object, scope: str) -> dict:
    """The start key of a token `encode_token` issued for the same scope."""
    if not isinstance(token, str) or not token.isascii():
        raise InvalidPaginationTokenError(token)
    body, _, mac = token.encode().partition(b".")
    try:
        raw = base64.urlsafe_b64decode(body)
    except binascii.Error as exc:
        raise InvalidPaginationTokenError(token) from exc
    if not hmac.compare_digest(_mac(raw).encode(), mac):
        raise InvalidPaginationTokenError(token)
    content = json.loads(raw)
    if content["scope"] != scope:
        raise StartKeyOutsideQueryError()
    return content["key"]


def to_wire(value: Any) -> Any:
    """AppSync accepts `{"N": 5}`; the DynamoDB wire format wants `{"N": "5"}`."""
    if isinstance(value, dict):
        if set(value) == {"N"} and not isinstance(value["N"], str):
            return {"N": _number(value["N"])}
        return {key: to_wire(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [to_wire(inner) for inner in value]
    return value


def _number(value: int | float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def unmarshall(item: dict) -> dict:
    return {key: _plain(_deserializer.deserialize(value)) for key, value in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, set, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


_OPERATIONS = {"GetItem": _get_item, "Query": _query, "Scan": _scan}
