"""AppSync enhanced subscription filters: which published payloads reach which subscriber.

A filter set is `{"filterGroup": [{"filters": [{"fieldName", "operator", "value"}]}]}`: a payload
matches when ANY group matches, and a group matches when ALL its filters do.
"""

from __future__ import annotations

from typing import Any

_MISSING = object()


class UnknownFilterOperatorError(ValueError):
    def __init__(self, operator: str):
        super().__init__(f"unknown subscription filter operator {operator!r}")
        self.operator = operator


def filter_matches(filter_set: dict | None, payload: dict) -> bool:
    if not filter_set:
        return True
    return any(
        all(_rule_matches(rule, payload) for rule in group.get("filters", []))
        for group in filter_set.get("filterGroup", [])
    )


def _field(payload: dict, name: str) -> Any:
    value: Any = payload
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _rule_matches(rule: dict, payload: dict) -> bool:
    operator, expected = rule["operator"], rule.get("value")
    test = _OPERATORS.get(operator)
    if test is None:
        raise UnknownFilterOperatorError(operator)
    actual = _field(payload, rule["fieldName"])
    if operator == "attributeExists":
        return (actual is not _MISSING) == bool(expected)
    if actual is _MISSING:
        return operator in ("ne", "notIn", "notContains")
    try:
        return bool(test(actual, expected))
    except TypeError:
        return False   # comparing incomparable types never matches, as in AppSync


def _contains(actual: Any, expected: Any) -> bool:
    return expected in actual if isinstance(actual, (str, list)) else False


_OPERATORS = {
    "eq": lambda a, e: a == e,
    "ne": lambda a, e: a != e,
    "lt": lambda a, e: a < e,
    "le": lambda a, e: a <= e,
    "gt": lambda a, e: a > e,
    "ge": lambda a, e: a >= e,
    "in": lambda a, e: a in e,
    "notIn": lambda a, e: a not in e,
    "between": lambda a, e: e[0] <= a <= e[1],
    "beginsWith": lambda a, e: isinstance(a, str) and a.startswith(e),
    "contains": _contains,
    "notContains": lambda a, e: not _contains(a, e),
    "containsAny": lambda a, e: isinstance(a, list) and any(x in a for x in e),
    "attributeExists": lambda a, e: True,   # decided in _rule_matches: it must see missing fields
}
