"""Render what a tenant declares (`DeclaredResource`s) as a readable tree or as JSON."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from .inventory import DeclaredResource, ResourceType

SECRET_INPUTS = {"aws:appsync/apiKey:ApiKey": ("key",)}
REDACTED = "[secret]"


def _table(i: dict) -> str:
    keys = f"pk={i.get('hashKey')}" + (f" sk={i.get('rangeKey')}" if i.get("rangeKey") else "")
    gsis = ",".join(g.get("name", "") for g in i.get("globalSecondaryIndexes") or [])
    return (f"{keys} billing={i.get('billingMode')} stream={i.get('streamViewType') if i.get('streamEnabled') else 'off'}"
            f" pitr={(i.get('pointInTimeRecovery') or {}).get('enabled', False)}"
            f" deletion_protection={i.get('deletionProtectionEnabled', False)}"
            f" sse={'kms' if (i.get('serverSideEncryption') or {}).get('kmsKeyArn') else 'default'}"
            + (f" gsi={gsis}" if gsis else ""))


def _mapping(i: dict) -> str:
    filters = [f.get("pattern") for f in (i.get("filterCriteria") or {}).get("filters", [])]
    return (f"source={i.get('eventSourceArn')} batch={i.get('batchSize')} parallel={i.get('parallelizationFactor')}"
            f" retries={i.get('maximumRetryAttempts')} max_age={i.get('maximumRecordAgeInSeconds')}s"
            f" bisect={i.get('bisectBatchOnFunctionError')} start={i.get('startingPosition')}"
            + (f" filter={filters[0]}" if filters else ""))


SUMMARIES: dict[str, Callable[[dict], str]] = {
    ResourceType.TABLE: _table,
    ResourceType.MAPPING: _mapping,
    ResourceType.FUNCTION: lambda i: (
        f"handler={i.get('handler')} runtime={i.get('runtime')} memory={i.get('memorySize')} "
        f"timeout={i.get('timeout')} env={','.join(sorted((i.get('environment') or {}).get('variables', {})))}"),
    ResourceType.STREAM: lambda i: (
        f"mode={(i.get('streamModeDetails') or {}).get('streamMode')} shards={i.get('shardCount', '-')}"
        f" retention={i.get('retentionPeriod')}h encryption={i.get('encryptionType')}"),
    ResourceType.QUEUE: lambda i: f"retention={i.get('messageRetentionSeconds')}s kms={bool(i.get('kmsMasterKeyId'))}",
    ResourceType.KEY: lambda i: f"rotation={i.get('enableKeyRotation')} deletion_window={i.get('deletionWindowInDays')}d",
    "aws:cloudwatch/metricAlarm:MetricAlarm": lambda i: (
        f"{i.get('namespace')}/{i.get('metricName')} {i.get('statistic')} > {i.get('threshold')}"),
    ResourceType.DATA_SOURCE: lambda i: f"type={i.get('type')}" + (
        f" table={(i.get('dynamodbConfig') or {}).get('tableName')}" if i.get("dynamodbConfig") else ""),
    ResourceType.RESOLVER: lambda i: f"{i.get('type')}.{i.get('field')} data_source={i.get('dataSource')}",
    ResourceType.SCHEDULE: lambda i: (
        f"{i.get('scheduleExpression')} target={(i.get('target') or {}).get('arn')}"),
    ResourceType.GRAPHQL_API: lambda i: (
        f"auth={i.get('authenticationType')}+"
        f"{','.join(p.get('authenticationType', '') for p in i.get('additionalAuthenticationProviders') or [])}"),
}


def physical_name(r: DeclaredResource) -> str | None:
    return r.inputs.get("name") or r.inputs.get("bucket") or r.outputs.get("name")


def summary(r: DeclaredResource) -> str:
    render = SUMMARIES.get(r.type)
    return render(r.inputs) if render else ""


def redacted(r: DeclaredResource) -> DeclaredResource:
    hidden = SECRET_INPUTS.get(r.type, ())
    if not hidden:
        return r
    outputs = {k: (REDACTED if k in hidden else v) for k, v in r.outputs.items()}
    return DeclaredResource(r.type, r.name, r.inputs, outputs, r.parent, r.urn)


def render_text(tenant: str, resources: Sequence[DeclaredResource]) -> str:
    children: dict[str | None, list[DeclaredResource]] = defaultdict(list)
    urns = {r.urn for r in resources}
    for r in resources:
        children[r.parent if r.parent in urns else None].append(r)
    lines = [f"Tenant {tenant}: {len(resources)} resources"]

    def walk(parent: str | None, depth: int) -> None:
        for r in sorted(children.get(parent, []), key=lambda x: (x.type.startswith("tenantry:"), x.type, x.name)):
            name = physical_name(r)
            detail = summary(r)
            lines.append("  " * (depth + 1) + f"{r.type}  {r.name}" + (f"  [{name}]" if name and name != r.name else "")
                         + (f"\n{'  ' * (depth + 3)}{detail}" if detail else ""))
            walk(r.urn, depth + 1)

    walk(None, 0)
    return "\n".join(lines)


def render_json(tenant: str, resources: Sequence[DeclaredResource], outputs: dict[str, Any] | None = None) -> str:
    def as_dict(r: DeclaredResource) -> dict[str, Any]:
        r = redacted(r)
        return {"type": r.type, "name": r.name, "urn": r.urn, "parent": r.parent, "inputs": r.inputs,
                "outputs": r.outputs}

    shown = {k: (REDACTED if k == "api_key" else v) for k, v in (outputs or {}).items()}
    return json.dumps({"tenant": tenant, "resources": [as_dict(r) for r in resources], "stack_outputs": shown},
                      indent=2, sort_keys=True, default=str)
