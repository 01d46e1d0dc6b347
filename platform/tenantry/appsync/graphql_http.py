"""GraphQL execution for one tenant's API, as AppSync does it.

graphql-core parses, validates and walks the operation; every field goes through `_resolve`,
which applies AppSync's directive-based authorization and hands fields that have a declared
resolver to the AppSync `FieldExecutor` (JS in V8, DynamoDB / Lambda / NONE data sources). Fields
without a resolver read the same-named property of their parent, as AppSync does. The executor is
blocking (V8, botocore, in-process Lambdas), so it runs on worker threads and the event loop stays
free for WebSocket traffic and for the projector's own publish calls back into this server.

What one request may cost is bounded (`tenantry.appsync.limits`): query depth and resolver count as
the API declares them, a few of its resolvers in flight at once. A resolver that fails inside the
twin (a resolver bug, a data source the twin cannot reach) reaches the client as a generic
`InternalFailure` with an id; the log line with that id has the whole story.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    execute,
    parse,
    print_ast,
    validate,
)

from lambdas.handlers.graphql_errors import INTERNAL_FAILURE
from tenantry.appsync.executor import FieldCall, ResolverError
from tenantry.appsync import limits as lim
from tenantry.appsync.schema import allowed_modes, subscribed_mutations
from tenantry.appsync.auth import Caller

log = logging.getLogger("tenantry.local.graphql")


class FieldExecutorLike(Protocol):
    """`tenantry.appsync.executor.FieldExecutor`, or a test stub: called from many threads at once."""

    def resolve(self, call: Any) -> Any: ...
    def subscription_filter(self, call: Any) -> dict | None: ...


class AppSyncFieldError(GraphQLError):
    """A field error carrying AppSync's extra members (errorType, data, errorInfo)."""

    def __init__(self, message: str, error_type: str | None, data: Any = None,
                 error_info: Any = None) -> None:
        super().__init__(message, extensions={
            "errorType": error_type, "data": data, "errorInfo": error_info})


def appsync_error(error: GraphQLError, default_type: str | None = None) -> dict:
    """graphql-core error -> AppSync's error object shape."""
    original = error.original_error
    extensions = (original.extensions if isinstance(original, GraphQLError) else None) \
        or error.extensions or {}
    return {
        "path": error.path,
        "data": extensions.get("data"),
        "errorType": extensions.get("errorType", default_type),
        "errorInfo": extensions.get("errorInfo"),
        "locations": [{"line": loc.line, "column": loc.column, "sourceName": None}
                      for loc in error.locations or ()] or None,
        "message": error.message,
    }


def request_error(message: str, error_type: str = "ValidationError") -> dict:
    return {"path": None, "data": None, "errorType": error_type, "errorInfo": None,
            "locations": None, "message": message}


@dataclass
class _Context:
    caller: Caller
    headers: dict[str, str]
    variables: dict[str, Any]
    prepared: "Prepared"
    in_flight: asyncio.Semaphore                           # this request's resolvers running now
    appended: list[dict] = field(default_factory=list)   # util.appendError errors
    resolvers_started: int = 0


@dataclass(frozen=True)
class Published:
    mutation: str            # mutation field name
    payload: dict            # its result, as the mutation's selection set shaped it


@dataclass(frozen=True)
class Outcome:
    body: dict
    published: tuple[Published, ...] = ()
    fields: tuple[str, ...] = ()      # the operation's root fields, "Mutation.deposit" (for the log)

    @property
    def summary(self) -> str:
        """`ok`, or the distinct error types of the response (what the activity line shows)."""
        types = dict.fromkeys(str(e.get("errorType")) for e in self.body.get("errors") or ())
        return ", ".join(types) or "ok"


@dataclass(frozen=True)
class Prepared:
    document: DocumentNode
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode] = field(default_factory=dict)
    root_fields: tuple[str, ...] = ()        # "Mutation.deposit", ... (for the activity log)
    # id(field node) -> (selectionSetList, selectionSetGraphQL): the document is cached, so a
    # field's selection is worked out once, not on every resolver call. The nodes live as long
    # as `document`, so their ids stay theirs.
    _selections: dict[int, tuple[list[str], str]] = field(default_factory=dict, compare=False)

    def selection(self, node: FieldNode) -> tuple[list[str], str]:
        cached = self._selections.get(id(node))
        if cached is None:
            selection_set = node.selection_set
            cached = self._selections[id(node)] = (
                selection_set_list(selection_set, self.fragments),
                print_ast(selection_set) if selection_set else "")
        return cached


@dataclass(frozen=True)
class SubscriptionRequest:
    document: DocumentNode
    operation_name: str | None
    variables: dict[str, Any]
    field_name: str
    arguments: dict[str, Any]
    filter: dict | None


class SubscriptionRefusedError(Exception):
    def __init__(self, errors: list[dict]) -> None:
        super().__init__(errors[0]["message"] if errors else "subscription refused")
        self.errors = errors


def _selection_fields(selection_set: SelectionSetNode | None, fragments: dict) -> Iterator[FieldNode]:
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _selection_fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _selection_fields(fragment.selection_set, fragments)


def selection_set_list(selection_set: SelectionSetNode | None, fragments: dict,
                       prefix: str = "") -> list[str]:
    """AppSync's `info.selectionSetList`: field paths, nested ones joined with '/'."""
    result: list[str] = []
    for node in _selection_fields(selection_set, fragments):
        if node.name.value.startswith("__"):
            continue
        path = f"{prefix}{node.name.value}"
        result.append(path)
        result.extend(selection_set_list(node.selection_set, fragments, f"{path}/"))
    return result


PREPARED_CACHE_SIZE = 256


class TenantGraphQL:
    """Executes operations against one tenant's API."""

    def __init__(self, tenant: str, schema: GraphQLSchema, resolved: set[tuple[str, str]],
                 executor: FieldExecutorLike, threads: ThreadPoolExecutor, default_mode: str,
                 limits: lim.Limits = lim.Limits()) -> None:
        self.tenant = tenant
        self.schema = schema
        self.default_mode = default_mode      # the API's declared authenticationType
        self.limits = limits
        self._resolved = resolved
        self._executor = executor
        self._threads = threads
        self._auth_cache: dict[tuple[str, str], frozenset[str]] = {}
        self._prepared: dict[tuple[str, str | None], Prepared] = {}
        self.subscriptions_for = subscribed_mutations(schema)

    # -- queries and mutations ------------------------------------------------------------------

    async def prepare(self, query: str, operation_name: str | None) -> Prepared | list[dict]:
        # Clients (and the projector's publishes) send the same few documents over and over:
        # parsing and validating each time was a visible share of the server's CPU.
        cached = self._prepared.get((query, operation_name))
        if cached is not None:
            return cached
        # A new document is parsed and validated off the event loop: validating a large one takes
        # a while (overlapping-fields checks grow with the square of its fields), and meanwhile
        # every other request, WebSocket and publish would wait.
        loop = asyncio.get_running_loop()
        prepared = await loop.run_in_executor(self._threads, self._prepare, query, operation_name)
        if isinstance(prepared, Prepared):
            if len(self._prepared) >= PREPARED_CACHE_SIZE:
                self._prepared.pop(next(iter(self._prepared)))
            self._prepared[(query, operation_name)] = prepared
        return prepared

    def _prepare(self, query: str, operation_name: str | None) -> Prepared | list[dict]:
        try:
            document = parse(query)
        except GraphQLError as exc:
            return [appsync_error(exc, "MalformedHttpRequestException")]
        except RecursionError:
            return [request_error("The query is nested too deeply to parse.", "MalformedHttpRequestException")]
        fields = lim.field_count(document)
        if fields > lim.MAX_FIELDS:
            return [request_error(f"The document selects {fields} fields; the local platform takes at "
                                  f"most {lim.MAX_FIELDS}.", lim.QUERY_SIZE_ERROR)]
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        chosen = [op for op in operations
                  if operation_name is None or (op.name and op.name.value == operation_name)]
        fragments = {d.name.value: d for d in document.definitions
                     if isinstance(d, FragmentDefinitionNode)}
        depth = max((lim.operation_depth(op.selection_set, fragments) for op in chosen), default=0)
        if self.limits.query_depth and depth > self.limits.query_depth:    # before the costly part
            return [request_error(f"Query depth {depth} exceeds this API's limit of "
                                  f"{self.limits.query_depth}.", lim.QUERY_DEPTH_ERROR)]
        errors = validate(self.schema, document)
        if errors:
            return [appsync_error(e, "ValidationError") for e in errors]
        if len(chosen) != 1:
            return [request_error("Exactly one operation must be selected (operationName).")]
        return Prepared(document, chosen[0], fragments, _root_fields(chosen[0], fragments))

    def _context(self, caller: Caller, headers: dict[str, str], variables: dict | None,
                 prepared: Prepared) -> _Context:
        return _Context(caller, headers, variables or {}, prepared,
                        asyncio.Semaphore(self.limits.fields_in_flight))

    async def execute(self, query: str, variables: dict | None, operation_name: str | None,
                      caller: Caller, headers: dict[str, str]) -> Outcome:
        prepared = await self.prepare(query, operation_name)
        if isinstance(prepared, list):
            return Outcome({"data": None, "errors": prepared})
        if prepared.operation.operation == OperationType.SUBSCRIPTION:
            return Outcome({"data": None, "errors": [request_error(
                "Subscriptions are served on the real-time endpoint (/graphql/realtime).")]})
        fields = prepared.root_fields
        context = self._context(caller, headers, variables, prepared)
        try:
            async with asyncio.timeout(self.limits.execution_timeout_s):
                result = execute(self.schema, prepared.document, context_value=context,
                                 variable_values=variables, operation_name=operation_name,
                                 field_resolver=self._resolve)
                if inspect.isawaitable(result):
                    result = await result
        except TimeoutError:
            # As AppSync: past the execution limit the request fails as a whole, and a mutation
            # that did not finish in time publishes nothing, ever (a late publish would overtake).
            return Outcome({"data": None, "errors": [request_error(
                f"Execution timed out after {self.limits.execution_timeout_s:g}s.",
                lim.EXECUTION_TIMEOUT_ERROR)]}, fields=fields)
        errors = [appsync_error(e, "ValidationError" if result.data is None and e.path is None
                                else None) for e in result.errors or ()]
        errors.extend(context.appended)
        body: dict[str, Any] = {"data": result.data}
        if errors:
            body["errors"] = errors
        published = ()
        if prepared.operation.operation == OperationType.MUTATION and result.data:
            published = self._published(prepared, result.data, errors)
        return Outcome(body, published, fields)

    def _published(self, prepared: Prepared, data: dict, errors: list[dict]) -> tuple[Published, ...]:
        failed = {e["path"][0] for e in errors if e.get("path")}
        out = []
        for node in _selection_fields(prepared.operation.selection_set, {}):
            key = node.alias.value if node.alias else node.name.value
            if node.name.value in self.subscriptions_for and key not in failed \
                    and isinstance(data.get(key), dict):
                out.append(Published(node.name.value, data[key]))
        return tuple(out)

    # -- per-field resolution -------------------------------------------------------------------

    def _modes(self, type_name: str, field_name: str) -> frozenset[str]:
        key = (type_name, field_name)
        if key not in self._auth_cache:
            self._auth_cache[key] = allowed_modes(self.schema, type_name, field_name,
                                                         self.default_mode)
        return self._auth_cache[key]

    def _resolve(self, source: Any, info: GraphQLResolveInfo, **arguments: Any) -> Any:
        type_name, field_name = info.parent_type.name, info.field_name
        context: _Context = info.context
        if context.caller.mode not in self._modes(type_name, field_name):
            raise AppSyncFieldError(
                f"Not Authorized to access {field_name} on type {type_name}", "Unauthorized")
        if (type_name, field_name) in self._resolved:
            context.resolvers_started += 1
            if context.resolvers_started > self.limits.resolver_count:
                raise AppSyncFieldError(f"This request invokes more than {self.limits.resolver_count} "
                                        "resolvers, this API's limit.", lim.RESOLVER_COUNT_ERROR)
            return self._run_resolver(source, info, arguments)
        if isinstance(source, dict):
            return source.get(field_name)
        return getattr(source, field_name, None)

    def field_call(self, type_name: str, field_name: str, arguments: dict, source: Any,
                   context: _Context, field_nodes: list[FieldNode],
                   path: list | None = None) -> FieldCall:
        selection_list, selection_graphql = context.prepared.selection(field_nodes[0])
        return FieldCall(
            type_name=type_name, field_name=field_name, arguments=arguments,
            source=source if isinstance(source, dict) else None,
            identity=context.caller.identity, request_headers=context.headers,
            selection_set_list=selection_list, selection_set_graphql=selection_graphql,
            variables=context.variables, path=tuple(path or (field_name,)),
            locations=tuple(_locations(field_nodes)),
        )

    async def _call_executor(self, method: str, call: FieldCall, context: _Context) -> Any:
        """Run one executor call on a worker thread, within the request's share of them. A fault
        of the twin or of the resolver code becomes a generic error; the log keeps the details."""
        async with context.in_flight:
            loop = asyncio.get_running_loop()
            try:
                return await loop.run_in_executor(self._threads, getattr(self._executor, method), call)
            except (ResolverError, AppSyncFieldError):
                raise
            except Exception as exc:  # noqa: BLE001 - translated once, here
                raise self._internal_failure(call, exc) from exc

    def _internal_failure(self, call: FieldCall, exc: Exception) -> "AppSyncFieldError":
        error_id = uuid.uuid4().hex[:12]
        log.error("internal failure %s in %s.%s: %s: %s", error_id, call.type_name, call.field_name,
                  type(exc).__name__, exc, extra={"tenant_id": self.tenant, "error_id": error_id},
                  exc_info=exc)
        return AppSyncFieldError(f"An internal error occurred (error id {error_id}).", INTERNAL_FAILURE,
                                 error_info={"errorId": error_id})

    async def _run_resolver(self, source: Any, info: GraphQLResolveInfo, arguments: dict) -> Any:
        path = info.path.as_list()
        call = self.field_call(info.parent_type.name, info.field_name, arguments, source,
                               info.context, list(info.field_nodes), path)
        outcome = await self._call_executor("resolve", call, info.context)
        data = outcome.data
        errors = [_with_path(e, path, _locations(info.field_nodes)) for e in outcome.errors or ()]
        if not errors:
            return data
        if data is None:
            # The last error is the one that nulled the field (util.error); earlier ones were
            # appended (util.appendError) and are reported alongside it.
            info.context.appended.extend(errors[:-1])
            last = errors[-1]
            raise AppSyncFieldError(last["message"], last["errorType"], last["data"],
                                    last["errorInfo"])
        info.context.appended.extend(errors)
        return data

    # -- subscriptions --------------------------------------------------------------------------

    async def prepare_subscription(self, query: str, variables: dict | None,
                                   operation_name: str | None, caller: Caller,
                                   headers: dict[str, str]) -> SubscriptionRequest:
        prepared = await self.prepare(query, operation_name)
        if isinstance(prepared, list):
            raise SubscriptionRefusedError(prepared)
        if prepared.operation.operation != OperationType.SUBSCRIPTION:
            raise SubscriptionRefusedError([request_error(
                "Only subscriptions are allowed on the real-time endpoint.", "UnsupportedOperation")])
        roots = list(_selection_fields(prepared.operation.selection_set, {}))
        if len(roots) != 1:
            raise SubscriptionRefusedError([request_error(
                "A subscription must select exactly one root field.")])
        field_name = roots[0].name.value
        if caller.mode not in self._modes("Subscription", field_name):
            raise SubscriptionRefusedError([request_error(
                f"Not Authorized to access {field_name} on type Subscription", "Unauthorized")])
        arguments = self._subscription_arguments(prepared, variables)
        context = self._context(caller, headers, variables, prepared)
        call = self.field_call("Subscription", field_name, arguments, None, context, roots)
        try:
            filter_ = await self._call_executor("subscription_filter", call, context)
        except AppSyncFieldError as exc:   # an internal failure: refused with its generic message
            raise SubscriptionRefusedError([appsync_error(exc)]) from exc
        except ResolverError as exc:  # the resolver refused (util.error / unauthorized)
            raise SubscriptionRefusedError([exc.error]) from exc
        return SubscriptionRequest(prepared.document, operation_name, variables or {},
                                   field_name, arguments, filter_)

    def _subscription_arguments(self, prepared: Prepared, variables: dict | None) -> dict:
        captured: dict[str, Any] = {}

        def capture(source: Any, info: GraphQLResolveInfo, **arguments: Any) -> None:
            if info.parent_type.name == "Subscription":
                captured.update(arguments)
            return None

        result = execute(self.schema, prepared.document, variable_values=variables,
                         field_resolver=capture)
        if result.errors and not captured:
            raise SubscriptionRefusedError([appsync_error(e, "ValidationError")
                                            for e in result.errors])
        return captured

    def render(self, subscription: SubscriptionRequest, payload: dict) -> dict:
        """Reshape a published result to the subscriber's selection set."""
        result = execute(self.schema, subscription.document,
                         root_value={subscription.field_name: payload},
                         variable_values=subscription.variables,
                         operation_name=subscription.operation_name)
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [appsync_error(e) for e in result.errors]
        return body


def _root_fields(operation: OperationDefinitionNode, fragments: dict) -> tuple[str, ...]:
    kind = operation.operation.value.capitalize()
    return tuple(f"{kind}.{node.name.value}" for node in _selection_fields(operation.selection_set, fragments))


def _locations(nodes: Any) -> list[dict]:
    found = [n.loc.source.get_location(n.loc.start) for n in nodes if n.loc]
    return [{"line": loc.line, "column": loc.column, "sourceName": None} for loc in found]


def _with_path(error: dict, path: list, locations: list) -> dict:
    return {"path": error.get("path") or path, "data": error.get("data"),
            "errorType": error.get("errorType"), "errorInfo": error.get("errorInfo"),
            "locations": error.get("locations") or locations or None,
            "message": error.get("message", "")}
