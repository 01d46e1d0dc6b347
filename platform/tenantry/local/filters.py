"""Lambda event filtering (the subset the platform uses), as pure functions.

A pattern is a JSON object mirroring the record; leaves are lists of matchers, OR-ed; keys are
AND-ed; several patterns on one mapping are OR-ed. Matchers: exact values (string, number, bool,
null), `prefix`, `suffix`, `equals-ignore-case`, `numeric`, `exists`, `anything-but` (values, or a
`prefix`/`suffix`). A record value that is a list matches when any element does. Anything else
(`cidr`, `wildcard`, `$or`, ...) raises `FilterPatternError` when the mapping is applied, never
silently at run time.

What the pattern sees, as Lambda does: DynamoDB records as delivered (so `dynamodb.NewImage` values
are typed, `{"S": [...]}`); numeric matchers also accept a DynamoDB `N` string. Kinesis records
are filtered on `data` only, the base64 payload decoded and parsed as JSON (a payload that is not
JSON is seen as its text).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from tenantry.local.errors import FilterPatternError

_OPERATORS = {"prefix", "suffix", "equals-ignore-case", "numeric", "exists", "anything-but"}
_NUMERIC_OPS = {"<", "<=", "=", ">", ">="}
_MISSING = object()


def parse_pattern(raw: str | dict[str, Any] | None, source_kind: str) -> dict[str, Any]:
    """Parse and validate one `filterCriteria.filters[].pattern`."""
    try:
        pattern = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        raise FilterPatternError(raw, "not valid JSON") from exc
    if not isinstance(pattern, dict) or not pattern:
        raise FilterPatternError(raw, "a pattern is a non-empty JSON object")
    if source_kind == "kinesis" and set(pattern) != {"data"}:
        raise FilterPatternError(raw, "Kinesis mappings filter on the `data` key only")
    _validate(pattern, raw)
    return pattern


def _validate(node: Any, raw: Any) -> None:
    for key, value in node.items():
        if isinstance(value, dict):
            _validate(value, raw)
        elif isinstance(value, list):
            if not value:
                raise FilterPatternError(raw, f"{key}: empty matcher list")
            for matcher in value:
                _validate_matcher(matcher, raw)
        else:
            raise FilterPatternError(raw, f"{key}: leaves must be lists of matchers")


def _validate_matcher(matcher: Any, raw: Any) -> None:
    if not isinstance(matcher, dict):
        return  # exact value
    if len(matcher) != 1 or next(iter(matcher)) not in _OPERATORS:
        raise FilterPatternError(raw, f"unsupported matcher {matcher!r}")
    (op, operand), = matcher.items()
    if op == "numeric":
        if not isinstance(operand, list) or len(operand) not in (2, 4) or any(
            operand[k] not in _NUMERIC_OPS or not isinstance(operand[k + 1], (int, float))
            for k in range(0, len(operand), 2)
        ):
            raise FilterPatternError(raw, f"numeric operand {operand!r}")
    elif op == "exists" and not isinstance(operand, bool):
        raise FilterPatternError(raw, "exists takes true or false")
    elif op == "anything-but" and isinstance(operand, dict) and (
        len(operand) != 1 or next(iter(operand)) not in ("prefix", "suffix")
    ):
        raise FilterPatternError(raw, f"anything-but operand {operand!r}")


def filter_view(record: dict[str, Any], source_kind: str) -> dict[str, Any]:
    """The object a pattern is matched against, for one Lambda-shaped record."""
    if source_kind != "kinesis":
        return record
    text = base64.b64decode(record["kinesis"]["data"]).decode("utf-8", errors="replace")
    try:
        return {"data": json.loads(text)}
    except json.JSONDecodeError:
        return {"data": text}


def matches_any(patterns: Sequence[dict[str, Any]], view: dict[str, Any]) -> bool:
    """True when there are no patterns or at least one matches."""
    return not patterns or any(_match_object(p, view) for p in patterns)


def _match_object(pattern: dict[str, Any], obj: Any) -> bool:
    for key, sub in pattern.items():
        value = obj.get(key, _MISSING) if isinstance(obj, dict) else _MISSING
        if isinstance(sub, dict):
            if not _match_object(sub, value if isinstance(value, dict) else {}):
                return False
        elif not any(_match_leaf(m, value, key) for m in sub):
            return False
    return True


def _match_leaf(matcher: Any, value: Any, key: str) -> bool:
    if isinstance(matcher, dict) and "exists" in matcher:
        return (value is not _MISSING and not isinstance(value, dict)) == matcher["exists"]
    if value is _MISSING:
        return False
    values = value if isinstance(value, list) else [value]
    return any(_match_scalar(matcher, v, key) for v in values)


def _match_scalar(matcher: Any, value: Any, key: str) -> bool:
    if not isinstance(matcher, dict):
        return _same(matcher, value)
    (op, operand), = matcher.items()
    if op == "prefix":
        return isinstance(value, str) and value.startswith(operand)
    if op == "suffix":
        return isinstance(value, str) and value.endswith(operand)
    if op == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == str(operand).lower()
    if op == "numeric":
        number = _number(value, key)
        return number is not None and all(
            _compare(number, operand[k], operand[k + 1]) for k in range(0, len(operand), 2)
        )
    # anything-but
    if isinstance(operand, dict):
        (inner, text), = operand.items()
        if not isinstance(value, str):
            return True
        return not (value.startswith(text) if inner == "prefix" else value.endswith(text))
    excluded = operand if isinstance(operand, list) else [operand]
    return not any(_same(e, value) for e in excluded)


def _same(expected: Any, value: Any) -> bool:
    # JSON equality: 1 == 1.0, but true is not 1 and "1" is not 1.
    if isinstance(expected, bool) or isinstance(value, bool) or expected is None or value is None:
        return expected is value
    if isinstance(expected, (int, float)) and isinstance(value, (int, float)):
        return float(expected) == float(value)
    return type(expected) is type(value) and expected == value


def _number(value: Any, key: str) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if key == "N" and isinstance(value, str):  # DynamoDB numbers travel as strings
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _compare(number: float, op: str, bound: float) -> bool:
    return {
        "<": number < bound, "<=": number <= bound, "=": number == bound,
        ">": number > bound, ">=": number >= bound,
    }[op]
