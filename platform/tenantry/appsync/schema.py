"""The AppSync schema as graphql-core sees it: the tenant's SDL plus what AppSync provides.

AppSync defines its scalars and auth directives itself; a schema file never declares them. The
emulator prepends the same definitions and gives the scalars AppSync's validation rules, so a
value AppSync would reject is rejected locally with the same kind of error.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any, Callable

from graphql import (
    GraphQLError,
    GraphQLSchema,
    GraphQLScalarType,
    ValueNode,
    build_schema,
    value_from_ast_untyped,
)

APPSYNC_PRELUDE = """
scalar AWSDateTime
scalar AWSDate
scalar AWSTime
scalar AWSTimestamp
scalar AWSEmail
scalar AWSJSON
scalar AWSURL
scalar AWSPhone
scalar AWSIPAddress
directive @aws_api_key on FIELD_DEFINITION | OBJECT
directive @aws_iam on FIELD_DEFINITION | OBJECT
directive @aws_oidc on FIELD_DEFINITION | OBJECT
directive @aws_lambda on FIELD_DEFINITION | OBJECT
directive @aws_cognito_user_pools(cognito_groups: [String]) on FIELD_DEFINITION | OBJECT
directive @aws_auth(cognito_groups: [String]) on FIELD_DEFINITION
directive @aws_subscribe(mutations: [String]) on FIELD_DEFINITION
"""

# directive name -> AppSync auth mode
AUTH_DIRECTIVES = {
    "aws_api_key": "API_KEY",
    "aws_iam": "AWS_IAM",
    "aws_oidc": "OPENID_CONNECT",
    "aws_lambda": "AWS_LAMBDA",
    "aws_cognito_user_pools": "AMAZON_COGNITO_USER_POOLS",
    "aws_auth": "AMAZON_COGNITO_USER_POOLS",
}

_OFFSET = r"(Z|[+-]\d{2}:\d{2}(:\d{2})?)"
_TIME = r"\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?"
_DATE_TIME = re.compile(rf"^(\d{{4}}-\d{{2}}-\d{{2}})T({_TIME}){_OFFSET}$")
_DATE = re.compile(rf"^(\d{{4}}-\d{{2}}-\d{{2}}){_OFFSET}?$")
_TIME_ONLY = re.compile(rf"^({_TIME}){_OFFSET}?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s]+$|^mailto:[^\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]{2,30}$")


def _valid_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _valid_time(text: str) -> bool:
    hour, minute, *rest = text.split(":")
    second = float(rest[0]) if rest else 0.0
    return int(hour) < 24 and int(minute) < 60 and second < 60


def _date_time(value: str) -> bool:
    match = _DATE_TIME.match(value)
    return bool(match) and _valid_date(match[1]) and _valid_time(match[2])


def _date(value: str) -> bool:
    match = _DATE.match(value)
    return bool(match) and _valid_date(match[1])


def _time(value: str) -> bool:
    match = _TIME_ONLY.match(value)
    return bool(match) and _valid_time(match[1])


def _ip(value: str) -> bool:
    try:
        ipaddress.ip_interface(value)
    except ValueError:
        return False
    return True


def _json(value: str) -> bool:
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class _StringScalar:
    name: str
    valid: Callable[[str], bool]
    expected: str

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or not self.valid(value):
            raise GraphQLError(f"Invalid {self.name} value {value!r}: expected {self.expected}.")
        return value


_STRING_SCALARS = (
    _StringScalar("AWSDateTime", _date_time, "an ISO-8601 date-time with a time zone offset or Z"),
    _StringScalar("AWSDate", _date, "an ISO-8601 date YYYY-MM-DD"),
    _StringScalar("AWSTime", _time, "an ISO-8601 time hh:mm[:ss[.sss]]"),
    _StringScalar("AWSEmail", _EMAIL.match, "an email address"),
    _StringScalar("AWSURL", _URL.match, "a URL with a scheme"),
    _StringScalar("AWSPhone", _PHONE.match, "a phone number"),
    _StringScalar("AWSIPAddress", _ip, "an IPv4 or IPv6 address"),
    _StringScalar("AWSJSON", _json, "a JSON string"),
)


def _timestamp(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise GraphQLError(f"Invalid AWSTimestamp value {value!r}: expected epoch seconds (Int).")
    return value


def _serialize_json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _literal(check: Callable[[Any], Any]) -> Callable[..., Any]:
    def parse_literal(node: ValueNode, variables: dict | None = None) -> Any:
        return check(value_from_ast_untyped(node, variables))
    return parse_literal


def _install(scalar: GraphQLScalarType, check: Callable[[Any], Any],
             serialize: Callable[[Any], Any]) -> None:
    # graphql-core 3.3 reads the coerce_* hooks; the legacy names are set for older callers.
    scalar.serialize = scalar.coerce_output_value = serialize   # type: ignore[method-assign]
    scalar.parse_value = scalar.coerce_input_value = check      # type: ignore[method-assign]
    scalar.parse_literal = scalar.coerce_input_literal = _literal(check)  # type: ignore


def build_appsync_schema(sdl: str) -> GraphQLSchema:
    schema = build_schema(APPSYNC_PRELUDE + sdl)
    for spec in _STRING_SCALARS:
        serialize = _serialize_json if spec.name == "AWSJSON" else spec.check
        _install(schema.type_map[spec.name], spec.check, serialize)  # type: ignore[arg-type]
    _install(schema.type_map["AWSTimestamp"], _timestamp, _timestamp)  # type: ignore[arg-type]
    return schema


def _directive_names(node: Any) -> list[str]:
    return [d.name.value for d in (getattr(node, "directives", None) or ())]


def allowed_modes(schema: GraphQLSchema, type_name: str, field_name: str,
                  default_mode: str) -> frozenset[str]:
    """AppSync: field directives win; otherwise the type's; otherwise the API's declared default
    mode (`authenticationType`)."""
    parent = schema.type_map[type_name]
    field = parent.fields[field_name]  # type: ignore[attr-defined]
    on_field = [AUTH_DIRECTIVES[n] for n in _directive_names(field.ast_node) if n in AUTH_DIRECTIVES]
    if on_field:
        return frozenset(on_field)
    nodes = [parent.ast_node, *(getattr(parent, "extension_ast_nodes", None) or ())]
    on_type = [AUTH_DIRECTIVES[n] for node in nodes for n in _directive_names(node)
               if n in AUTH_DIRECTIVES]
    return frozenset(on_type) if on_type else frozenset({default_mode})


def subscribed_mutations(schema: GraphQLSchema) -> dict[str, tuple[str, ...]]:
    """mutation field -> the subscription fields that `@aws_subscribe` ties to it."""
    result: dict[str, list[str]] = {}
    if schema.subscription_type is None:
        return {}
    for name, field in schema.subscription_type.fields.items():
        for directive in getattr(field.ast_node, "directives", None) or ():
            if directive.name.value != "aws_subscribe":
                continue
            for argument in directive.arguments:
                if argument.name.value == "mutations":
                    for mutation in value_from_ast_untyped(argument.value) or ():
                        result.setdefault(mutation, []).append(name)
    return {k: tuple(v) for k, v in result.items()}
