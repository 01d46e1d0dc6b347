"""The local AppSync field executor: one resolver call, as AppSync performs it.

request handler -> data source (DynamoDB on the emulator, the Lambda in-process, or NONE) ->
response handler, with AppSync's error semantics (util.error, util.appendError, ctx.error,
runtime.earlyReturn). Used by the tests and by the local platform's GraphQL server.

`FieldExecutor.reload` swaps in new resolver code (`tenantry dev`'s hot reload): a new set of V8
contexts is loaded with it first (so code that does not load changes nothing), fields that start
afterwards run it, and a field already running finishes both its handlers on the old code, whose
contexts are closed, by their own lanes, once the last such field is done.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tenantry.appsync import dynamodb_ops
from tenantry.appsync.jsruntime import Evaluation, Phase, ResolverRuntime, compile_scripts, to_script
from tenantry.appsync.spec import ApiSpec, DataSourceKind, ResolverSpec

__all__ = ["DataSourceBackends", "FieldCall", "FieldExecutor", "FieldOutcome", "ResolverError"]

LAMBDA_UNHANDLED = "Lambda:Unhandled"

log = logging.getLogger("tenantry.appsync.resolvers")
_CONSOLE_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING, "ERROR": logging.ERROR}


@dataclass(frozen=True)
class FieldCall:
    type_name: str
    field_name: str
    arguments: dict
    source: dict | None
    identity: dict | None          # api key -> None; IAM -> {accountId, userArn, ...}
    request_headers: dict
    selection_set_list: list[str]
    selection_set_graphql: str
    variables: dict = field(default_factory=dict)
    path: tuple = ()               # response path; defaults to (field_name,)
    locations: tuple = ()          # [{line, column, sourceName}] of the field in the document


@dataclass(frozen=True)
class FieldOutcome:
    data: Any
    errors: list[dict]


class ResolverError(Exception):
    """A subscription was refused (util.error / util.unauthorized in its resolver)."""

    def __init__(self, error: dict) -> None:
        super().__init__(f"{error.get('errorType')}: {error.get('message')}")
        self.error = error


class DataSourceBackends(Protocol):
    dynamodb: Any

    def table_name(self, data_source: str) -> str: ...

    def invoke_lambda(self, data_source: str, event: dict) -> Any: ...


class _Generation:
    """One version of the resolver code, and how many fields are evaluating it."""

    def __init__(self, runtime: ResolverRuntime, scripts: Mapping[str, str]) -> None:
        self.runtime = runtime
        self.scripts = dict(scripts)
        self.users = 0
        self.retired = False


class FieldExecutor:
    """Thread-safe: up to `contexts` fields evaluate their handlers at once (one V8 context each);
    data-source calls run on the calling thread, outside V8. `scripts` (`jsruntime.compile_scripts`
    of the spec's files) spares reading and rewriting the resolver files again."""

    def __init__(self, spec: ApiSpec, resolver_dir: Path, backends: DataSourceBackends,
                 scripts: Mapping[str, str] | None = None, *, contexts: int = 1, name: str = "resolvers"):
        self._spec = spec
        self._backends = backends
        self._name = name
        self._contexts = contexts
        self._resolver_dir = resolver_dir
        scripts = scripts if scripts is not None else compile_scripts(resolver_dir, spec.code_files)
        self._lock = threading.Lock()
        self._current = self._generation(scripts)

    def __enter__(self) -> "FieldExecutor":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._retire(self._current)

    def reload(self, sources: Mapping[str, str]) -> None:
        """New source text for some of the code files. Raises `ResolverRuntimeError` (naming the
        file) when it does not load, and then keeps the code it had."""
        unknown = sorted(set(sources) - set(self._current.scripts))
        if unknown:
            raise KeyError(f"not resolver files of this API: {', '.join(unknown)}")
        scripts = {**self._current.scripts, **{f: to_script(f, text) for f, text in sources.items()}}
        fresh = self._generation(scripts)
        with self._lock:
            old, self._current = self._current, fresh
        self._retire(old)

    def _generation(self, scripts: Mapping[str, str]) -> _Generation:
        return _Generation(ResolverRuntime(self._resolver_dir, self._spec.code_files, scripts,
                                           contexts=self._contexts, name=self._name), scripts)

    @contextmanager
    def _leased(self) -> Iterator[ResolverRuntime]:
        """The current code, held until the field is done with it (both of its handlers)."""
        with self._lock:
            generation = self._current
            generation.users += 1
        try:
            yield generation.runtime
        finally:
            with self._lock:
                generation.users -= 1
                done = generation.retired and generation.users == 0
            if done:
                generation.runtime.close()

    def _retire(self, generation: _Generation) -> None:
        with self._lock:
            generation.retired = True
            done = generation.users == 0
        if done:
            generation.runtime.close()

    def resolve(self, call: FieldCall) -> FieldOutcome:
        last, appended = self._evaluate(call)
        errors = _errors(call, appended)
        if last.outcome == "error":
            return FieldOutcome(None, [*errors, _error(call, last.error)])
        return FieldOutcome(last.value, errors)

    def subscription_filter(self, call: FieldCall) -> dict | None:
        last, _ = self._evaluate(call)
        if last.outcome == "error":
            raise ResolverError(_error(call, last.error))
        return last.subscription_filter

    def _evaluate(self, call: FieldCall) -> tuple[Evaluation, list[dict]]:
        """request handler -> data source -> response handler, stopping at a request that errs or
        returns early: the last evaluation, and the errors both handlers appended."""
        resolver = self._resolver(call)
        ctx = _context(call)
        with self._leased() as runtime:
            request = self._run(runtime, resolver.code_file, "request", ctx)
            if request.outcome != "ok":
                return request, request.appended_errors
            response_ctx = self._call_data_source(resolver, ctx, request)
            response = self._run(runtime, resolver.code_file, "response", response_ctx)
        return response, [*request.appended_errors, *response.appended_errors]

    def _run(self, runtime: ResolverRuntime, code_file: str, phase: Phase, ctx: dict) -> Evaluation:
        """One handler; what it wrote with console.* is logged, as AppSync logs it (an internal
        failure's full text, which the client does not see, is one of those lines)."""
        evaluation = runtime.run(code_file, phase, ctx)
        for line in evaluation.logs:
            log.log(_CONSOLE_LEVELS.get(line["level"], logging.INFO), "%s %s %s: %s",
                    self._name, code_file, phase, line["message"])
        return evaluation

    def _resolver(self, call: FieldCall) -> ResolverSpec:
        resolver = self._spec.resolver(call.type_name, call.field_name)
        if resolver is None:
            raise KeyError(f"no resolver for {call.type_name}.{call.field_name}")
        return resolver

    def _call_data_source(self, resolver: ResolverSpec, ctx: dict, request: Evaluation) -> dict:
        """The response handler's ctx: the request's ctx plus result/error, and its stash."""
        data_source = self._spec.data_source(resolver.data_source)
        response_ctx = {**ctx, "stash": request.stash, "result": None, "error": None}
        try:
            response_ctx["result"] = self._invoke(data_source.name, data_source.kind, request.value)
        except dynamodb_ops.DataSourceError as exc:
            response_ctx["error"] = exc.as_ctx_error()
        return response_ctx

    def _invoke(self, name: str, kind: DataSourceKind, request: dict) -> Any:
        if kind is DataSourceKind.NONE:
            return request.get("payload")
        if kind is DataSourceKind.DYNAMODB:
            return dynamodb_ops.execute(self._backends.dynamodb, self._backends.table_name(name), request)
        if request.get("operation") != "Invoke":
            raise NotImplementedError(f"Lambda operation {request.get('operation')!r} is not implemented locally")
        try:   # the backend returns what crossed Lambda's JSON boundary (LambdaRuntime.invoke)
            return self._backends.invoke_lambda(name, request.get("payload"))
        except Exception as exc:  # an unhandled Lambda error is data for the resolver, as in AppSync
            raise dynamodb_ops.DataSourceError(str(exc), LAMBDA_UNHANDLED) from exc


def _context(call: FieldCall) -> dict:
    return {
        "arguments": call.arguments,
        "identity": call.identity,
        "source": call.source,
        "stash": {},
        "prev": None,
        "request": {"headers": call.request_headers},
        "info": {
            "fieldName": call.field_name,
            "parentTypeName": call.type_name,
            "variables": call.variables,
            "selectionSetList": call.selection_set_list,
            "selectionSetGraphQL": call.selection_set_graphql,
        },
    }


def _error(call: FieldCall, raw: dict) -> dict:
    return {
        "message": raw.get("message"),
        "errorType": raw.get("errorType"),
        "data": raw.get("data"),
        "errorInfo": raw.get("errorInfo"),
        "path": list(call.path) or [call.field_name],
        "locations": list(call.locations),
    }


def _errors(call: FieldCall, raws: list[dict]) -> list[dict]:
    return [_error(call, raw) for raw in raws]
