"""A strict harness around Pulumi's mock runtime, and `declare(config)`: the tenant program evaluated
offline, as plain data (`DeclaredResource`). `tenantry preview`, the local platform and the infra
tests all read this one evaluation of the real program.

Strict means:
- every registration is recorded with its parent, resolved inputs and camelCase mock outputs;
- an output the mocks do not model resolves to a marker, and any input that received a marker fails
  the run (`UnmockedOutputError`): a component can never silently wire `None` into a resource;
- registrations outside `Harness.run` (which wraps `pulumi.runtime.test`) are refused, and reading
  the record before a completed run raises, so a test cannot pass vacuously;
- an invoke the mocks do not know raises `UnknownCallError`.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi import _types
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings

from .config import TenantConfig, find_project_root
from .inventory import DeclaredResource

ACCOUNT_ID = "123456789012"
PROJECT = "tenantry"
MARKER = "<unmocked output "


class HarnessError(Exception):
    """The harness was misused or the program did something the harness cannot model."""


class OutsideTestError(HarnessError):
    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"{what} outside Harness.run (pulumi.runtime.test): refusing to record it")


class UnmockedOutputError(HarnessError):
    def __init__(self, consumer: str, path: str, marker: str) -> None:
        self.consumer, self.path, self.marker = consumer, path, marker
        super().__init__(f"{consumer} input {path} uses {marker.strip('<>')}: model it in tenantry.mocks")


class UnknownCallError(HarnessError):
    def __init__(self, token: str) -> None:
        self.token = token
        super().__init__(f"invoke {token} is not modelled by tenantry.mocks")


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    registered_outputs: dict[str, Any] = field(default_factory=dict)


def plain(value: Any) -> Any:
    """Deserialized Pulumi values -> plain Python (secrets unwrapped, archives as their path)."""
    if rpc.is_rpc_secret(value):
        return plain(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, pulumi.FileArchive | pulumi.FileAsset):
        return {"path": str(value.path), "kind": type(value).__name__}
    if isinstance(value, float) and value.is_integer():
        return int(value)      # the wire format has one number type; AWS settings here are integers
    if isinstance(value, pulumi.Resource):
        return {"resource": type(value).__name__}
    return value


def _short_id(seed: str, length: int = 26) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _uuid(seed: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, seed))


def mock_outputs(typ: str, name: str, inputs: dict[str, Any], region: str, account: str) -> dict[str, Any]:
    """Realistic, tenant-scoped outputs (ARNs, ids, URLs) for one resource; `id` always included."""
    physical = inputs.get("name") or name
    seed = f"{typ}/{name}"
    arn = lambda service, resource: f"arn:aws:{service}:{region}:{account}:{resource}"  # noqa: E731
    if typ == "aws:dynamodb/table:Table":
        out = {"id": physical, "name": physical, "arn": arn("dynamodb", f"table/{physical}")}
        if inputs.get("streamEnabled"):
            out |= {"streamLabel": "2024-01-01T00:00:00.000", "streamArn": f"{out['arn']}/stream/2024-01-01T00:00:00.000"}
        return out
    if typ == "aws:kinesis/stream:Stream":
        a = arn("kinesis", f"stream/{physical}")
        return {"id": a, "name": physical, "arn": a}
    if typ == "aws:s3/bucket:Bucket":
        # No `bucket`: Pulumi autonames it `<logical name>-<7 random hex>`, lowercased; offline the
        # suffix is derived from the resource, so every evaluation of a stack gets the same name.
        b = inputs.get("bucket") or f"{name}-{_short_id(seed, 7)}".lower()
        return {"id": b, "bucket": b, "arn": f"arn:aws:s3:::{b}", "region": region,
                "bucketDomainName": f"{b}.s3.amazonaws.com",
                "bucketRegionalDomainName": f"{b}.s3.{region}.amazonaws.com"}
    if typ.startswith("aws:s3/"):
        return {"id": inputs.get("bucket") or name}
    if typ == "aws:sqs/queue:Queue":
        url = f"https://sqs.{region}.amazonaws.com/{account}/{physical}"
        return {"id": url, "url": url, "name": physical, "arn": arn("sqs", physical)}
    if typ == "aws:sns/topic:Topic":
        a = arn("sns", physical)
        return {"id": a, "name": physical, "arn": a}
    if typ == "aws:sns/topicSubscription:TopicSubscription":
        a = f"{inputs.get('topic')}:{_uuid(seed)}"
        return {"id": a, "arn": a}
    if typ == "aws:kms/key:Key":
        key_id = _uuid(seed)
        return {"id": key_id, "keyId": key_id, "arn": arn("kms", f"key/{key_id}")}
    if typ == "aws:kms/alias:Alias":
        return {"id": physical, "name": physical, "arn": arn("kms", physical),
                "targetKeyArn": arn("kms", f"key/{inputs.get('targetKeyId')}")}
    if typ == "aws:iam/role:Role":
        return {"id": physical, "name": physical, "arn": f"arn:aws:iam::{account}:role/{physical}",
                "uniqueId": "AROA" + _short_id(seed, 17).upper()}
    if typ == "aws:iam/rolePolicy:RolePolicy":
        return {"id": f"{inputs.get('role')}:{physical}", "name": physical}
    if typ == "aws:lambda/function:Function":
        a = arn("lambda", f"function:{physical}")
        return {"id": physical, "name": physical, "arn": a, "qualifiedArn": f"{a}:$LATEST", "version": "$LATEST",
                "invokeArn": f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{a}/invocations",
                "codeSha256": inputs.get("sourceCodeHash", "")}
    if typ == "aws:lambda/eventSourceMapping:EventSourceMapping":
        mapping = _uuid(seed)
        fn = inputs.get("functionName", "")
        return {"id": mapping, "uuid": mapping, "arn": arn("lambda", f"event-source-mapping:{mapping}"),
                "functionArn": fn if fn.startswith("arn:") else arn("lambda", f"function:{fn}"), "state": "Enabled"}
    if typ == "aws:cloudwatch/logGroup:LogGroup":
        return {"id": physical, "name": physical, "arn": arn("logs", f"log-group:{physical}")}
    if typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
        return {"id": physical, "name": physical, "arn": arn("cloudwatch", f"alarm:{physical}")}
    if typ == "aws:appsync/graphQLApi:GraphQLApi":
        api_id = _short_id(seed)
        return {"id": api_id, "arn": arn("appsync", f"apis/{api_id}"), "uris": {
            "GRAPHQL": f"https://{api_id}.appsync-api.{region}.amazonaws.com/graphql",
            "REALTIME": f"wss://{api_id}.appsync-realtime-api.{region}.amazonaws.com/graphql"}}
    if typ == "aws:appsync/apiKey:ApiKey":
        key_id = "da2-" + _short_id(seed)
        return {"id": f"{inputs.get('apiId')}:{key_id}", "key": key_id, "apiKeyId": key_id,
                "arn": arn("appsync", f"apis/{inputs.get('apiId')}/apikeys/{key_id}")}
    if typ == "aws:appsync/dataSource:DataSource":
        return {"id": f"{inputs.get('apiId')}-{physical}",
                "arn": arn("appsync", f"apis/{inputs.get('apiId')}/datasources/{physical}")}
    if typ == "aws:appsync/resolver:Resolver":
        t, f = inputs.get("type"), inputs.get("field")
        return {"id": f"{inputs.get('apiId')}-{t}-{f}", "arn": arn("appsync", f"apis/{inputs.get('apiId')}/types/{t}/resolvers/{f}")}
    if typ == "aws:appsync/function:Function":
        fid = _short_id(seed)
        return {"id": f"{inputs.get('apiId')}-{fid}", "functionId": fid,
                "arn": arn("appsync", f"apis/{inputs.get('apiId')}/functions/{fid}")}
    if typ.startswith("pulumi:providers:"):
        return {"id": _uuid(seed)}
    service = typ.split(":")[1].split("/")[0] if typ.count(":") >= 2 else "unknown"
    return {"id": physical, "arn": arn(service, f"{typ.rsplit(':', 1)[-1].lower()}/{physical}")}


def _string_outputs(cls: type) -> list[str]:
    """camelCase names of a resource class's string outputs (the ones a marker can stand in for)."""
    return [camel for camel, typ in _types.resource_types(cls).items() if typ is str]


class StrictMocks(pulumi.runtime.Mocks):
    def __init__(self, harness: "Harness") -> None:
        self.harness = harness

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        return self.harness._new_resource(args)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        h = self.harness
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": h.account_id, "arn": f"arn:aws:iam::{h.account_id}:user/tenantry-preview",
                    "userId": "AIDAPREVIEW", "id": h.account_id}
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": h.region, "region": h.region, "id": h.region}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        raise UnknownCallError(args.token)


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: StrictMocks, harness: "Harness") -> None:
        super().__init__(mocks)
        self.harness = harness

    def RegisterResource(self, request):  # noqa: N802 (gRPC name)
        self.harness._local.request = request     # same thread as the mocks' new_resource
        try:
            return super().RegisterResource(request)
        finally:
            self.harness._local.request = None

    def RegisterResourceOutputs(self, request):  # noqa: N802
        self.harness._registered_outputs[request.urn] = plain(rpc.deserialize_properties(request.outputs))
        return super().RegisterResourceOutputs(request)


class Harness:
    """Runs a program under `pulumi.runtime.test` with strict mocks; one instance per stack."""

    def __init__(self, stack: str, region: str, account_id: str = ACCOUNT_ID, project: str = PROJECT) -> None:
        self.stack, self.region, self.account_id, self.project = stack, region, account_id, project
        self._local = threading.local()
        self._lock = threading.Lock()
        self._active = False
        self._completed = False
        self._records: dict[str, Registration] = {}
        self._registered_outputs: dict[str, dict] = {}
        self._classes: dict[tuple[str, str], type] = {}
        self.result: Any = None
        self._exports: dict[str, Any] = {}

    # -- runtime callbacks -------------------------------------------------------------------
    def _observe(self, args: pulumi.ResourceTransformationArgs) -> None:
        with self._lock:
            self._classes[(args.type_, args.name)] = type(args.resource)
        return None

    def _new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        request = getattr(self._local, "request", None)
        if not self._active or request is None:
            raise OutsideTestError(f"registration of {args.typ} {args.name!r}")
        inputs = plain(args.inputs)
        outputs = mock_outputs(args.typ, args.name, inputs, self.region, self.account_id) if args.custom else {}
        # The engine echoes raw inputs (typed: archives stay archives); the record keeps plain ones.
        state = {**args.inputs, **{k: v for k, v in outputs.items() if k != "id"}}
        with self._lock:
            cls = self._classes.get((args.typ, args.name))
        if args.custom and cls is not None:
            for prop in _string_outputs(cls):
                state.setdefault(prop, f"{MARKER}{args.typ}.{prop} of {args.name}>")
        urn = self._monitor.make_urn(request.parent, request.type, request.name)
        with self._lock:
            self._records[urn] = Registration(
                type=args.typ, name=args.name, urn=urn, parent=request.parent or None, custom=bool(args.custom),
                inputs=inputs, outputs=outputs)
        resource_id = outputs.get("id") if args.custom else None
        return resource_id, state

    # -- public API ----------------------------------------------------------------------------
    def run(self, program: Callable[[], Any]) -> "Harness":
        ensure_event_loop()
        settings.ROOT.set(None)   # a fresh root stack per run, even when runs share a process
        mocks = StrictMocks(self)
        self._monitor = _RecordingMonitor(mocks, self)
        pulumi.runtime.set_mocks(mocks, project=self.project, stack=self.stack, preview=False, monitor=self._monitor)
        pulumi.runtime.register_stack_transformation(self._observe)

        def body() -> Any:
            self.result = program()
            # Under the mock runtime the stack never registers its outputs: resolve the exports here.
            exports = dict(settings.get_root_resource().outputs)
            return pulumi.Output.from_input(exports).apply(self._store_exports)

        self._active = True
        try:
            pulumi.runtime.test(body)()
        finally:
            self._active = False
        self._check_markers()
        self._completed = True
        return self

    @property
    def registrations(self) -> list[Registration]:
        if not self._completed:
            raise OutsideTestError("reading registrations before a completed run")
        for urn, outputs in self._registered_outputs.items():
            if urn in self._records:
                self._records[urn].registered_outputs = outputs
        return sorted(self._records.values(), key=lambda r: r.urn)

    def _store_exports(self, exports: dict[str, Any]) -> None:
        self._exports = plain(exports)

    @property
    def stack_outputs(self) -> dict[str, Any]:
        if not self._completed:
            raise OutsideTestError("reading stack outputs before a completed run")
        return dict(self._exports)

    def declared(self) -> list[DeclaredResource]:
        return [DeclaredResource(type=r.type, name=r.name, inputs=r.inputs,
                                 outputs=r.outputs if r.custom else r.registered_outputs,
                                 parent=r.parent, urn=r.urn) for r in self.registrations]

    def _check_markers(self) -> None:
        def walk(value: Any, path: str) -> tuple[str, str] | None:
            if isinstance(value, str) and MARKER in value:
                return path, value
            if isinstance(value, dict):
                items = value.items()
            elif isinstance(value, list):
                items = ((str(i), v) for i, v in enumerate(value))
            else:
                return None
            for key, item in items:
                found = walk(item, f"{path}.{key}" if path else key)
                if found:
                    return found
            return None

        sources = [(f"{r.type} {r.name!r}", r.inputs) for r in self._records.values()]
        sources += [(f"outputs of {urn}", out) for urn, out in self._registered_outputs.items()]
        sources.append(("stack outputs", self._exports))
        for consumer, values in sources:
            found = walk(values, "")
            if found:
                raise UnmockedOutputError(consumer, *found)


def ensure_event_loop() -> None:
    """Pulumi's test runtime drives the thread's current event loop; after an `asyncio.run` in the
    same thread there is none, so give it a fresh one."""
    try:
        asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())


def declare_with_harness(config: TenantConfig, root: Path | None = None,
                         account_id: str = ACCOUNT_ID) -> Harness:
    from .program import define_stack   # pulumi_aws and the components: only when declaring

    root = root or find_project_root()
    harness = Harness(stack=config.name, region=config.region, account_id=account_id)
    return harness.run(lambda: define_stack(config, root))


def declare(config: TenantConfig, root: Path | None = None) -> list[DeclaredResource]:
    """Everything the tenant program declares, resolved, with mock outputs, in URN order."""
    return declare_with_harness(config, root).declared()
