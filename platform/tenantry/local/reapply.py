"""Re-applying a tenant's declaration to a running local platform: the local `pulumi up`.

`plan(old, new)` compares two declarations (what `tenantry dev` applied at start-up, and what the
Pulumi program declares for the tenant file now) and keeps only the differences the local platform
can apply in place, which are the ones a blue/green switch of the read models makes:
  - a newly declared DynamoDB table (created);
  - an AppSync DynamoDB data source whose table name changed (re-pointed);
  - a Lambda function whose environment changed (its loaded handler is dropped, so the next
    invocation is a "new container", like Lambda's UpdateFunctionConfiguration).
Control-plane differences the local platform never applies (IAM, KMS, alarms, ...) are ignored, as
at start-up. Any other difference raises `UnappliableChangeError`: restart `tenantry dev` for it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from tenantry.inventory import DeclaredResource, ResourceType
from tenantry.local.applier import _is_control_plane

# AppSync pieces the dev server serves from the declaration, so a change in them matters.
# Inputs hot reload keeps current: resolvers/*.js and lambdas/ (the zip's hash).
HOT_INPUTS = {ResourceType.RESOLVER: ("code",), ResourceType.FUNCTION: ("sourceCodeHash",)}
SERVED_APPSYNC = (ResourceType.GRAPHQL_API, ResourceType.RESOLVER, ResourceType.DATA_SOURCE)


class UnappliableChangeError(Exception):
    def __init__(self, tenant: str, changes: list[str]) -> None:
        super().__init__(f"{tenant}: the new declaration changes what a running `tenantry dev` cannot apply in "
                         f"place; restart it: {'; '.join(changes)}")
        self.tenant = tenant
        self.changes = changes


@dataclass
class Plan:
    new_tables: list[DeclaredResource] = field(default_factory=list)
    data_source_tables: dict[str, str] = field(default_factory=dict)     # data source name -> table
    function_environments: list[DeclaredResource] = field(default_factory=list)

    def describe(self) -> dict:
        return {"created_tables": [str(r.inputs.get("name")) for r in self.new_tables],
                "data_sources": dict(self.data_source_tables),
                "functions": [str(r.inputs.get("name")) for r in self.function_environments]}


def _matters(res: DeclaredResource) -> bool:
    return res.type.startswith("aws:") and (not _is_control_plane(res.type) or res.type in SERVED_APPSYNC)


def _differs_only_in(old: dict, new: dict, key: str) -> bool:
    return {k: v for k, v in old.items() if k != key} == {k: v for k, v in new.items() if k != key}


def without_hot_inputs(resources: Any) -> list[DeclaredResource]:
    return [dataclasses.replace(r, inputs={k: v for k, v in r.inputs.items() if k not in HOT_INPUTS[r.type]})
            if r.type in HOT_INPUTS else r for r in resources]


def plan(tenant: str, old: tuple[DeclaredResource, ...] | list[DeclaredResource],
         new: list[DeclaredResource], hot_reload: bool = False) -> Plan:
    """`hot_reload`: the running code is kept current by `tenantry.local.reload`, so a resolver's
    code or the zip's hash differing is no change to apply (without it, it needs a restart)."""
    if hot_reload:
        old, new = without_hot_inputs(old), without_hot_inputs(new)
    before = {(r.type, r.name): r for r in old if _matters(r)}
    after = {(r.type, r.name): r for r in new if _matters(r)}
    result, refused = Plan(), []
    for key in sorted(set(before) - set(after)):
        refused.append(f"{key[0]} {key[1]} is no longer declared")
    for key, res in sorted(after.items()):
        previous = before.get(key)
        if previous is None:
            if res.type == ResourceType.TABLE:
                result.new_tables.append(res)
            else:
                refused.append(f"{res.type} {res.name} is newly declared")
        elif previous.inputs == res.inputs:
            continue
        elif res.type == ResourceType.FUNCTION and _differs_only_in(previous.inputs, res.inputs, "environment"):
            result.function_environments.append(res)
        elif (res.type == ResourceType.DATA_SOURCE and _differs_only_in(previous.inputs, res.inputs, "dynamodbConfig")
              and _differs_only_in(previous.inputs["dynamodbConfig"], res.inputs["dynamodbConfig"], "tableName")):
            result.data_source_tables[res.inputs["name"]] = res.inputs["dynamodbConfig"]["tableName"]
        else:
            changed = sorted(k for k in set(previous.inputs) | set(res.inputs)
                             if previous.inputs.get(k) != res.inputs.get(k))
            refused.append(f"{res.type} {res.name} changes {', '.join(changed)}")
    if refused:
        raise UnappliableChangeError(tenant, refused)
    return result
