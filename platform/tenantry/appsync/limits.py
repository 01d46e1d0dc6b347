"""How much work one request may ask of the local AppSync, and the checks that enforce it.

AppSync's own per-API limits, read from the declared `GraphQLApi` (`queryDepthLimit`,
`resolverCountLimit`; 0 or absent means AppSync's default: no depth limit, 10,000 resolvers), and
AppSync's 30-second execution limit. On top, a bound that is the twin's own: how many resolvers of
one request run at once, so one request with thousands of aliases takes its turn with the others
instead of filling every worker thread and V8 context before anybody else's field gets one.

A request body's JSON nesting is bounded too: deeper documents cannot be decoded, copied into a
resolver context or serialized without recursion, which must never take a server thread down.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode

APPSYNC_DEFAULT_RESOLVER_COUNT = 10_000
APPSYNC_EXECUTION_TIMEOUT_S = 30.0
MAX_JSON_DEPTH = 64
FIELDS_IN_FLIGHT = 4
# The twin's own bound on a document (AppSync publishes none but its 1 MB body limit): validating a
# document costs time quadratic in its fields, so 5,000 of them is seconds of CPU, and no frontend
# needs that many. Counted before validation, fragments once each.
MAX_FIELDS = 5_000

QUERY_DEPTH_ERROR = "QueryDepthLimitExceeded"
RESOLVER_COUNT_ERROR = "ResolverCountLimitExceeded"
EXECUTION_TIMEOUT_ERROR = "ExecutionTimeout"
QUERY_SIZE_ERROR = "QueryTooLarge"


@dataclass(frozen=True)
class Limits:
    query_depth: int = 0                                   # 0: no limit (AppSync's default)
    resolver_count: int = APPSYNC_DEFAULT_RESOLVER_COUNT
    execution_timeout_s: float = APPSYNC_EXECUTION_TIMEOUT_S
    fields_in_flight: int = FIELDS_IN_FLIGHT

    @classmethod
    def declared(cls, api_inputs: Mapping[str, Any]) -> "Limits":
        """The limits a declared `aws:appsync/graphQLApi:GraphQLApi` sets (its camelCase inputs)."""
        depth = int(api_inputs.get("queryDepthLimit") or 0)
        count = int(api_inputs.get("resolverCountLimit") or 0) or APPSYNC_DEFAULT_RESOLVER_COUNT
        return cls(query_depth=depth, resolver_count=count)


def json_depth(value: Any) -> int:
    """Nesting depth of a decoded JSON value (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            deepest = max(deepest, depth)
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def operation_depth(selection_set: SelectionSetNode | None, fragments: Mapping[str, Any]) -> int:
    """Levels of nested fields (a root field is level 1), through fragments, without recursion.
    A fragment that spreads itself is a validation error already; it is not followed twice."""
    deepest = 0
    stack: list[tuple[SelectionSetNode | None, int, frozenset[str]]] = [(selection_set, 0, frozenset())]
    while stack:
        node, depth, spread = stack.pop()
        for selection in node.selections if node else ():
            if isinstance(selection, FieldNode):
                deepest = max(deepest, depth + 1)
                stack.append((selection.selection_set, depth + 1, spread))
            elif isinstance(selection, InlineFragmentNode):
                stack.append((selection.selection_set, depth, spread))
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in spread:
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    stack.append((fragment.selection_set, depth, spread | {selection.name.value}))
    return deepest


def field_count(document: DocumentNode) -> int:
    """Field nodes written in the document (each definition's selections, without expanding
    spreads, so a fragment used many times counts once): a bound on what validation walks."""
    count, stack = 0, [getattr(d, "selection_set", None) for d in document.definitions]
    while stack:
        node = stack.pop()
        for selection in node.selections if node else ():
            count += isinstance(selection, FieldNode)
            stack.append(getattr(selection, "selection_set", None))
    return count
