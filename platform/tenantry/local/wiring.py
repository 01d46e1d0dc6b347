"""Assembles the local platform from what each tenant's Pulumi program declares.

Everything the AppSync emulator serves comes from the declared resources: the schema and the auth
modes (default and additional providers) from the `GraphQLApi`, the data sources (and which table or function each points at) from the
`DataSource`s, and the resolver code from the `Resolver`s (written to a scratch directory so the
V8 executor loads exactly the declared code). The AWS side (tables, streams, functions, mappings)
is created by `tenantry.local.applier`; this module only wires the pieces together.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from tenantry.inventory import ResourceType
from tenantry.local import activity
from tenantry.appsync.auth.declared import (
    AuthWiring,
    DeclaredMode,
    LocalPool,
    UnsupportedAuthModeError,
    build_authenticator,
    declared_modes,
)
from tenantry.appsync.schema import build_appsync_schema
from tenantry.appsync.graphql_http import TenantGraphQL
from tenantry.appsync.limits import Limits
from tenantry.local.model import LocalTenant, function_name_from
from tenantry.appsync.server import TenantApi, build_tenant_api

GRAPHQL_URL_ENV = "GRAPHQL_URL"
# The CA bundle the AWS SDKs (and the projector's AppSync publisher) trust: the local CA under --tls.
CA_BUNDLE_ENV = "AWS_CA_BUNDLE"
# V8 contexts per tenant API: resolvers evaluate concurrently, as in AppSync. A handler evaluation
# takes well under a millisecond, so a few contexts keep up with every worker thread.
CONTEXTS_PER_API = 4


class StartupError(Exception):
    """The local platform cannot start; the message says which tenant and why."""

    def __init__(self, tenant: str, reason: str) -> None:
        super().__init__(f"{tenant}: {reason}")
        self.tenant = tenant
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class DeclaredApi:
    schema: str
    spec: Any                              # tenantry.appsync.spec.ApiSpec
    resolver_dir: Path
    tables: dict[str, str]                 # data source -> physical table
    functions: dict[str, str]              # data source -> function name
    limits: Limits                         # queryDepthLimit / resolverCountLimit as declared
    auth_modes: tuple[DeclaredMode, ...]   # default mode first, then the additional providers


def declared_api(local: LocalTenant, workdir: Path) -> DeclaredApi:
    from tenantry.appsync.spec import ApiSpec, DataSourceKind, DataSourceSpec, ResolverSpec, Target

    tenant = local.tenant
    apis = local.of_type(ResourceType.GRAPHQL_API)
    if len(apis) != 1:
        raise StartupError(tenant, f"expected one declared {ResourceType.GRAPHQL_API}, found {len(apis)}")
    resolver_dir = workdir / tenant / "resolvers"
    resolver_dir.mkdir(parents=True, exist_ok=True)
    data_sources, tables, functions = [], {}, {}
    for resource in local.of_type(ResourceType.DATA_SOURCE):
        name, kind = resource.inputs["name"], DataSourceKind(resource.inputs["type"])
        data_sources.append(DataSourceSpec(name, kind, Target.NOTHING))
        if kind is DataSourceKind.DYNAMODB:
            tables[name] = resource.inputs["dynamodbConfig"]["tableName"]
        elif kind is DataSourceKind.LAMBDA:
            functions[name] = function_name_from(resource.inputs["lambdaConfig"]["functionArn"])
    resolvers = []
    for resource in local.of_type(ResourceType.RESOLVER):
        type_name, field_name = resource.inputs["type"], resource.inputs["field"]
        code_file = f"{type_name}.{field_name}.js"
        (resolver_dir / code_file).write_text(resource.inputs["code"], encoding="utf-8")
        resolvers.append(ResolverSpec(type_name, field_name, resource.inputs["dataSource"], code_file))
    spec = ApiSpec(tuple(data_sources), tuple(resolvers))
    return DeclaredApi(apis[0].inputs["schema"], spec, resolver_dir, tables, functions,
                       Limits.declared(apis[0].inputs), declared_modes(apis[0].inputs))


def local_pools(local: LocalTenant) -> dict[str, LocalPool]:
    """Declared pool id (and emulator id) -> the pool the emulator holds, with its clients."""
    pools = {}
    for declared, real in {**local.arns, **{p: p for p in local.user_pools}}.items():
        pool = local.user_pools.get(real)
        if pool is not None:
            pools[declared] = LocalPool(pool.id, pool.region, frozenset(pool.clients.values()))
    return pools


@dataclasses.dataclass
class Backends:
    """`DataSourceBackends` for the field executor: the emulator's DynamoDB and Lambdas."""
    dynamodb: Any
    tables: dict[str, str]
    functions: dict[str, str]
    invoke: Callable[[str, dict], Any]

    def table_name(self, data_source: str) -> str:
        return self.tables[data_source]

    def invoke_lambda(self, data_source: str, event: dict) -> Any:
        return self.invoke(self.functions[data_source], event)


def localize(tenant: LocalTenant, graphql_url: str, ca_file: Path | None = None) -> LocalTenant:
    """Functions that call the API (the projector's publish) call the local server instead, and
    trust its CA when it serves TLS."""
    local = {GRAPHQL_URL_ENV: graphql_url, **({CA_BUNDLE_ENV: str(ca_file)} if ca_file else {})}
    functions = {
        name: dataclasses.replace(spec, environment={**spec.environment, **local})
        if GRAPHQL_URL_ENV in spec.environment else spec
        for name, spec in tenant.functions.items()
    }
    return dataclasses.replace(tenant, functions=functions)


class Platform:
    """The emulator, each tenant's provisioned resources, Lambdas and pollers."""

    def __init__(self, root: Path, workdir: Path, say: Callable[[str], None],
                 ca_file: Path | None = None, lambda_env: dict[str, str] | None = None) -> None:
        self.root = root
        self.ca_file = ca_file
        self.lambda_env = dict(lambda_env or {})     # set on every function (the dev server's choices)
        self.workdir = workdir
        self.say = say
        self.emulator: Any = None
        self.tenants: dict[str, LocalTenant] = {}
        self.configs: dict[str, Any] = {}           # tenant -> TenantConfig as loaded at start
        self._runtimes: dict[str, Any] = {}
        self._backends: dict[str, Backends] = {}
        self._graphql_urls: dict[str, str] = {}
        self._reapply_lock = threading.Lock()
        self._pollers: list[Any] = []
        self._executors: list[Any] = []
        self._resolvers: dict[str, tuple[Any, frozenset[str], Path]] = {}   # for hot reload
        self.hot_reload = False                     # set by tenantry.local.reload when it watches

    def __enter__(self) -> "Platform":
        from tenantry.local.emulator import Emulator

        self.emulator = Emulator().start()
        self.say(f"AWS emulator (moto) on {self.emulator.endpoint_url}")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_pollers()
        for executor in self._executors:
            executor.close()
        if self.emulator is not None:
            self.emulator.stop()

    def tenant_names(self, requested: tuple[str, ...]) -> list[str]:
        from tenantry.config import tenant_names

        known = tenant_names(self.root)
        unknown = [n for n in requested if n not in known]
        if unknown:
            raise StartupError(", ".join(unknown), f"no such tenant in tenants/ (known: {', '.join(known)})")
        names = list(dict.fromkeys(requested)) or known
        if not names:
            raise StartupError("-", "no tenants in tenants/ (create one with `tenantry tenant new NAME`)")
        return names

    def add_tenant(self, name: str, endpoints: Any, threads: ThreadPoolExecutor) -> TenantApi:
        from tenantry.appsync.auth.api_key import new_api_key
        from tenantry.appsync.executor import FieldExecutor
        from tenantry.appsync.jsruntime import ResolverRuntimeError, compile_scripts
        from tenantry.config import TenantConfigError, load_tenant_by_name
        from tenantry.local.applier import apply
        from tenantry.local.errors import LocalPlatformError
        from tenantry.mocks import declare

        try:
            config = load_tenant_by_name(self.root, name)
        except TenantConfigError as exc:
            raise StartupError(name, str(exc)) from exc
        self.configs[name] = config
        started = time.perf_counter()
        resources = declare(config, self.root)
        activity.startup(name, "declare", started, f"{len(resources)} resources (Pulumi mock runtime)",
                         resources=len(resources))
        started = time.perf_counter()
        try:
            local = localize(apply(resources, self.emulator, tenant=name, region=config.region),
                             endpoints.graphql_url, self.ca_file)
        except LocalPlatformError as exc:
            raise StartupError(name, str(exc)) from exc
        self.tenants[name] = local
        activity.startup(name, "provision", started, f"{len(local.tables)} tables, {len(local.streams)} streams, "
                         f"{len(local.functions)} functions, {len(local.mappings)} event source mappings")
        api = declared_api(local, self.workdir)
        runtime = self._runtime(local)
        backends = Backends(self.emulator.client("dynamodb", local.region), api.tables,
                            api.functions, runtime.invoke)
        self._backends[name] = backends
        self._graphql_urls[name] = endpoints.graphql_url
        try:    # loaded into every V8 context of the API now: a resolver that cannot load fails here
            executor = FieldExecutor(api.spec, api.resolver_dir, backends,
                                     compile_scripts(api.resolver_dir, api.spec.code_files),
                                     contexts=CONTEXTS_PER_API, name=f"{name}-resolvers")
        except ResolverRuntimeError as exc:
            raise StartupError(name, str(exc)) from exc
        self._executors.append(executor)
        try:
            authenticator, api_key = build_authenticator(api.auth_modes, AuthWiring(
                name, local_pools(local), self.emulator.endpoint_url, new_api_key))
        except UnsupportedAuthModeError as exc:
            raise StartupError(name, str(exc)) from exc
        self._resolvers[name] = (executor, frozenset(api.spec.code_files), api.resolver_dir)
        resolved = {(r.type_name, r.field_name) for r in api.spec.resolvers}
        graphql = TenantGraphQL(name, build_appsync_schema(api.schema), resolved, executor, threads,
                                authenticator.default_mode, api.limits)
        return build_tenant_api(name, graphql, authenticator, api_key)

    def reapply(self, name: str) -> dict:
        """The local `pulumi up`: re-declare the tenant from its (changed) file and apply what
        `tenantry.local.reapply.plan` allows in place; anything else raises, applying nothing."""
        from tenantry.config import load_tenant_by_name
        from tenantry.local import reapply
        from tenantry.local.applier import _create_table, _function_spec, service_clients
        from tenantry.mocks import declare

        with self._reapply_lock:
            old = self.tenants[name]
            config = load_tenant_by_name(self.root, name)
            if config.region != old.region:
                raise reapply.UnappliableChangeError(name, [f"region {old.region} -> {config.region}"])
            resources = declare(config, self.root)
            changes = reapply.plan(name, old.resources, resources, hot_reload=self.hot_reload)
            arns = dict(old.arns)
            tables = dict(old.tables)
            clients = service_clients(self.emulator, old.region)
            for res in changes.new_tables:
                info = _create_table(clients, res, arns)
                tables[info.name] = info
            specs = [_function_spec(old.region, res, {}) for res in changes.function_environments]
            functions = dict(old.functions)
            for spec in specs:
                functions[spec.name] = dataclasses.replace(functions[spec.name], environment=spec.environment)
            local = localize(dataclasses.replace(old, tables=tables, functions=functions, arns=arns,
                                                 resources=tuple(resources)), self._graphql_urls[name],
                             self.ca_file)
            self._backends[name].tables.update(changes.data_source_tables)
            runtime = self._runtimes[name]
            for spec in specs:
                runtime.reconfigure(local, local.functions[spec.name])
            runtime.tenant = local
            self.tenants[name] = local
            self.say(f"{name}: re-applied {changes.describe()}")
            return changes.describe()

    def declare(self, config: Any) -> list:
        """The tenant as the Pulumi program declares it now; one declaration at a time (re-apply
        included), as the mock runtime is process-wide."""
        from tenantry.mocks import declare

        with self._reapply_lock:
            return declare(config, self.root)

    def resolver_executors(self) -> dict[str, tuple[Any, frozenset[str], Path]]:
        """Per tenant: its field executor, the resolver files it declares, their scratch folder."""
        return dict(self._resolvers)

    def lambda_runtimes(self) -> dict[str, Any]:
        return dict(self._runtimes)

    def _runtime(self, tenant: LocalTenant) -> Any:
        from tenantry.local.lambda_runtime import LambdaRuntime

        runtime = LambdaRuntime(tenant, self.emulator, env_overrides=self.lambda_env)
        runtime.warm()    # cold starts (and import errors) at start-up, not on the first request
        self._runtimes[tenant.tenant] = runtime
        return runtime

    def start_pollers(self) -> None:
        from tenantry.local.pollers import Pollers

        for name, tenant in self.tenants.items():
            pollers = Pollers(tenant, self._runtimes[name], self.emulator)
            pollers.start()
            self._pollers.append(pollers)
        self.say(f"event source mappings polling for {', '.join(self.tenants)}")

    def stop_pollers(self) -> None:
        while self._pollers:
            self._pollers.pop().stop()
