"""What the applier created for one tenant in the emulator: plain, frozen data the runtime, the
pollers and the dev server read. Names are physical names; ARNs are the emulator's real ARNs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tenantry.inventory import DeclaredResource
from tenantry.lambda_records import SourceKind
from tenantry.local.cognito import UserPoolInfo


@dataclass(frozen=True)
class TableInfo:
    logical_name: str
    name: str
    arn: str
    stream_arn: str | None           # the emulator's LatestStreamArn (differs from the declared one)


@dataclass(frozen=True)
class StreamInfo:
    logical_name: str
    name: str
    arn: str


@dataclass(frozen=True)
class QueueInfo:
    logical_name: str
    name: str
    url: str
    arn: str


@dataclass(frozen=True)
class BucketInfo:
    logical_name: str
    name: str


@dataclass(frozen=True)
class FunctionSpec:
    logical_name: str
    name: str                          # physical function name
    handler: str                       # "package.module.function" (or "package/module.function")
    environment: dict[str, str]        # declared variables only; the runtime adds the AWS ones
    arn: str                           # arn:aws:lambda:<region>:123456789012:function:<name>
    timeout_s: int = 3
    memory_mb: int = 128
    runtime: str = "python3.11"


@dataclass(frozen=True)
class EventSourceMapping:
    logical_name: str
    function_name: str
    source_kind: SourceKind
    source_arn: str                    # the emulator's ARN of the stream (DynamoDB or Kinesis)
    batch_size: int
    batching_window_s: float
    filter_patterns: tuple[dict[str, Any], ...]      # parsed `filterCriteria.filters[].pattern`
    report_batch_item_failures: bool
    bisect_on_error: bool
    max_retry_attempts: int            # -1 = until the record expires (the AWS default)
    max_record_age_s: int              # -1 = infinite
    on_failure_queue_url: str | None
    on_failure_arn: str | None
    starting_position: str             # LATEST | TRIM_HORIZON | AT_TIMESTAMP
    starting_position_timestamp: float | None = None
    parallelization_factor: int = 1
    enabled: bool = True


@dataclass(frozen=True)
class LocalTenant:
    tenant: str
    region: str
    tables: dict[str, TableInfo] = field(default_factory=dict)        # by physical name
    streams: dict[str, StreamInfo] = field(default_factory=dict)
    queues: dict[str, QueueInfo] = field(default_factory=dict)
    buckets: dict[str, BucketInfo] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)  # by physical name
    mappings: tuple[EventSourceMapping, ...] = ()
    user_pools: dict[str, UserPoolInfo] = field(default_factory=dict)  # by the emulator's pool id
    arns: dict[str, str] = field(default_factory=dict)                # declared ARN / id -> emulator's
    recorded: tuple[DeclaredResource, ...] = ()                       # control plane: not created
    resources: tuple[DeclaredResource, ...] = ()                      # everything declared

    def function(self, name_or_arn: str) -> FunctionSpec:
        from tenantry.local.errors import UnknownFunctionError

        spec = find_function(self.functions, name_or_arn)
        if spec is None:
            raise UnknownFunctionError(self.tenant, name_or_arn)
        return spec

    def of_type(self, *type_tokens: str) -> list[DeclaredResource]:
        """Declared resources of the given Pulumi types (e.g. the AppSync pieces for the server)."""
        return [r for r in self.resources if r.type in type_tokens]


def find_function(functions: Mapping[str, FunctionSpec], name_or_arn: str) -> FunctionSpec | None:
    """A function by physical name or ARN (`functions` is keyed by physical name), else by
    logical name."""
    name = function_name_from(name_or_arn)
    spec = functions.get(name)
    if spec is None:
        spec = next((f for f in functions.values() if f.logical_name == name), None)
    return spec


def function_name_from(name_or_arn: str) -> str:
    """`arn:aws:lambda:r:a:function:NAME[:QUALIFIER]` or a plain name -> NAME."""
    if name_or_arn.startswith("arn:"):
        parts = name_or_arn.split(":")
        if len(parts) >= 7 and parts[5] == "function":
            return parts[6]
    return name_or_arn
