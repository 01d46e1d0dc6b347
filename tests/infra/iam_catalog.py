"""Every IAM policy a tenant declares, checked against the IAM service authorization reference as
`policy_sentry` bundles it (`policy_sentry.shared.iam_data`, no network): each action exists, and
each action and each resource of a statement are of use to each other.

Resource matching is ours on purpose: `policy_sentry`'s `does_arn_match` compares ARN segments and
does not expand a policy ARN's `*`, so the documented `log-group:<name>:*` (which covers that
group's log streams) would not match the log-stream type. Here a policy resource (a glob: `*`, `?`)
matches a resource type when some ARN is matched by both the glob and the type's ARN format, where
`${Partition}`-like placeholders stand for one path segment (no `/`), and names that are paths
(log groups, S3 keys, IAM paths) for any text.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

from policy_sentry.shared.iam_data import get_service_prefix_data

from tenantry.inventory import DeclaredResource, ResourceType

# Placeholders whose values contain `/` (log group names, object keys, IAM names with a path).
PATH_PLACEHOLDERS = frozenset({"LogGroupName", "LogStreamName", "ObjectName", "RoleNameWithPath",
                               "UserNameWithPath", "GroupNameWithPath", "PolicyNameWithPath"})
_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")

# Where each resource type keeps its policies, and what kind they are. A policy-shaped input of any
# other type fails the check, so a new policy holder is classified here before it can land.
IDENTITY, TRUST, KEY, RESOURCE = "identity", "trust", "key", "resource"
POLICY_INPUTS: dict[tuple[str, str], str] = {
    (ResourceType.ROLE_POLICY, "policy"): IDENTITY,
    ("aws:iam/policy:Policy", "policy"): IDENTITY,
    ("aws:iam/role:Role", "assumeRolePolicy"): TRUST,
    (ResourceType.KEY, "policy"): KEY,
    ("aws:s3/bucketPolicy:BucketPolicy", "policy"): RESOURCE,
    ("aws:sqs/queuePolicy:QueuePolicy", "policy"): RESOURCE,
    ("aws:sns/topicPolicy:TopicPolicy", "policy"): RESOURCE,
}


@dataclass(frozen=True)
class Policy:
    holder: str          # the declaring resource's logical name
    kind: str
    document: dict
    key_arn: str | None = None   # a key policy's `*` is that key


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _is_policy(value) -> bool:
    return isinstance(value, str) and '"Statement"' in value


def declared_policies(resources: Sequence[DeclaredResource]) -> tuple[list[Policy], list[str]]:
    """Every policy document among the declared inputs, and the holders nobody has classified."""
    found, unknown = [], []
    for r in resources:
        for field, value in r.inputs.items():
            if not _is_policy(value):
                continue
            kind = POLICY_INPUTS.get((r.type, field))
            if kind is None:
                unknown.append(f"{r.name}: {r.type}.{field} holds a policy this check does not classify")
                continue
            found.append(Policy(r.name, kind, json.loads(value), r.outputs.get("arn") if kind == KEY else None))
    return found, unknown


# -- the catalog -----------------------------------------------------------------------------------
@cache
def _service(prefix: str) -> dict | None:
    try:
        return get_service_prefix_data(prefix.lower()) or None
    except Exception:     # policy_sentry raises a bare Exception for an unknown prefix
        return None


def actions_matching(pattern: str) -> list[str]:
    """The catalog's actions an `Action` entry names (IAM action names are case-insensitive)."""
    if pattern == "*" or ":" not in pattern:
        return []
    prefix, name = pattern.split(":", 1)
    service = _service(prefix)
    if service is None:
        return []
    return sorted(f"{service['prefix']}:{a}" for a in service["privileges"] if fnmatch.fnmatchcase(a.lower(), name.lower()))


def resource_formats(action: str) -> list[str]:
    """ARN formats of the action's resource types; empty when IAM defines it on `*` only."""
    prefix, name = action.split(":", 1)
    service = _service(prefix)
    types = service["privileges"][name]["resource_types"]
    return sorted(service["resources"][t]["arn"] for t in types if t)


def wildcard_only(action: str) -> bool:
    return bool(actions_matching(action)) and all(not resource_formats(a) for a in actions_matching(action))


# -- ARN glob against ARN format -------------------------------------------------------------------
_ANY, _SEGMENT = frozenset(), frozenset("/")   # characters a placeholder may not contain


@lru_cache(maxsize=None)
def _format_tokens(arn_format: str) -> tuple:
    """A format as tokens: ("lit", c), or a placeholder as ("one", excluded) + ("many", excluded)."""
    tokens: list[tuple] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(arn_format):
        tokens += [("lit", c) for c in arn_format[pos:m.start()]]
        excluded = _ANY if m.group(1) in PATH_PLACEHOLDERS else _SEGMENT
        tokens += [("one", excluded), ("many", excluded)]
        pos = m.end()
    return tuple(tokens + [("lit", c) for c in arn_format[pos:]])


def arn_may_match(glob: str, arn_format: str) -> bool:
    """Some ARN is matched both by the policy resource `glob` and by the resource type's format."""
    p, q = glob, _format_tokens(arn_format)

    @cache
    def step(i: int, j: int) -> bool:
        if i == len(p):
            return all(kind == "many" for kind, _ in q[j:])
        if j == len(q):
            return all(c == "*" for c in p[i:])
        kind, value = q[j]
        if kind == "many" and step(i, j + 1):
            return True                       # the placeholder's tail is empty
        if p[i] == "*":
            # the star is empty, or emits the character the format wants next
            return step(i + 1, j) or (kind != "many" and step(i, j + 1))
        fits = (kind == "lit" and value == p[i]) or (kind != "lit" and (p[i] == "?" or p[i] not in value))
        return fits and step(i + 1, j + (kind != "many"))

    return step(0, 0)


# -- the check -------------------------------------------------------------------------------------
def _statement_problems(policy: Policy, index: int, statement: dict) -> Iterator[str]:
    where = f"{policy.holder} statement {statement.get('Sid') or index}"
    if "NotAction" in statement or "NotResource" in statement:
        yield f"{where}: NotAction/NotResource is not checked here; avoid it"
        return
    patterns = _as_list(statement.get("Action", []))
    expanded = {pattern: actions_matching(pattern) for pattern in patterns}
    yield from (f"{where}: {pattern} is not an IAM action" for pattern, found in expanded.items() if not found)
    if policy.kind == TRUST:
        return
    resources = [policy.key_arn if policy.kind == KEY and r == "*" else r for r in _as_list(statement.get("Resource", []))]
    if not resources:
        yield f"{where}: no Resource"
    used: set[str] = set()
    for pattern, found in expanded.items():
        fitting = [r for r in resources if any(_fits(a, r) for a in found)]
        used.update(fitting)
        if found and not fitting:
            wanted = sorted({f for a in found for f in resource_formats(a)}) or ["*"]
            yield f"{where}: {pattern} applies to none of {resources} (its resource types: {wanted})"
    yield from (f"{where}: {r} is a resource none of {patterns} applies to" for r in resources if r not in used)


def _fits(action: str, resource: str) -> bool:
    """`*` only for actions IAM defines on `*` alone; any other resource must match a type."""
    formats = resource_formats(action)
    if resource == "*":
        return not formats
    return any(arn_may_match(resource, f) for f in formats)


def catalog_problems(tenant: str, resources: Sequence[DeclaredResource]) -> list[str]:
    """A policy rule (`rule(tenant, resources) -> list[str]`) over every declared IAM policy."""
    policies, problems = declared_policies(resources)
    for policy in policies:
        for index, statement in enumerate(_as_list(policy.document.get("Statement", []))):
            problems += _statement_problems(policy, index, statement)
    return problems
