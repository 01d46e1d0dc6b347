"""Runs declared Lambda handlers in this process, each in its own copy of its handler module.

Isolation of environment variables. `os.environ` is process-wide, but a handler must see exactly
its function's variables (at import and while it runs) while other functions, other tenants and
the dev server run concurrently. Rather than serialising every invocation behind a lock that
overlays `os.environ` (which would also deadlock as soon as a handler waits on an in-process server
that is itself waiting to invoke a Lambda), `os.environ`'s class is swapped, once, for a subclass
that reads and writes a per-invocation dict held in a `ContextVar`. Outside an invocation it
behaves exactly like before. Inside one, `os.environ`, `os.getenv` and everything built on them
(boto3's endpoint/credential/region resolution, Powertools, `Settings.from_env`) see only that
function's Lambda environment, with the host's AWS_* and POWERTOOLS_* variables removed so a
developer's real credentials or profile never leak into a handler. Limits: threads a handler
starts itself and subprocesses see the process environment, not the function's.

Each function's handler module is executed under a unique module name per tenant and function, so
module-level caches (a boto3 client, a store) are per function and per tenant; the modules it
imports (`lambdas.banking`, ...) are shared by the functions of one code generation. Like a warm
Lambda execution environment, the copy and its environment persist across invocations; unlike
Lambda, concurrent invocations of one function share that copy, so module-level state must be
thread-safe.

New code (`prepare` + `adopt`, what `tenantry.local.reload` does when `lambdas/` changes) is a new
deployment of the zip: every function's handler is loaded again in a fresh generation of the
`lambdas` package (`tenantry.local.modulespace`), module-level state included, as after a cold
start; an invocation already running finishes on the code it started with.

Errors: `invoke` raises `LambdaInvocationError(function, error_type, message)` when the handler
raises (error_type = the exception's class name, Lambda's `errorType`; the exception is chained
as `__cause__`), when its module fails to initialise (`Runtime.ImportModuleError`,
`Runtime.UserCodeSyntaxError` or the exception's class name), or when its result is not JSON
(`Runtime.MarshalError`). Otherwise it returns the handler's result after a JSON round trip, as
Lambda would (so a `Decimal` fails here as it fails in AWS). Timeouts are not enforced (a thread
cannot be killed); an overrun is logged as a warning.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

from tenantry.local.emulator import Emulator
from tenantry.local.errors import HandlerNotFoundError, LambdaInvocationError
from tenantry.local.model import FunctionSpec, LocalTenant
from tenantry.local.modulespace import ModuleSpace

log = logging.getLogger("tenantry.local.lambda")

Handler = Callable[[Any, Any], Any]
# The package the Lambda zip holds (`tenantry.components.packaging.build_package`): what a new
# deployment replaces, so what a reload imports afresh.
CODE_PACKAGE = "lambdas"

_HOST_ONLY_PREFIXES = ("AWS_", "POWERTOOLS_", "_X_AMZN_", "LAMBDA_")
# Local runs have no X-Ray daemon; tracing would only produce errors.
_FORCED = {"POWERTOOLS_TRACE_DISABLED": "true"}

_invocation_env: ContextVar[dict[str, str] | None] = ContextVar("tenantry_lambda_env", default=None)


class _InvocationEnviron(os._Environ):  # type: ignore[misc,name-defined]
    """`os.environ`, but the current invocation's environment while a handler runs."""

    def __getitem__(self, key: str) -> str:
        env = _invocation_env.get()
        return super().__getitem__(key) if env is None else env[key]

    def __setitem__(self, key: str, value: str) -> None:
        env = _invocation_env.get()
        if env is None:
            super().__setitem__(key, value)
        elif not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"str expected, not {type(value).__name__}")
        else:
            env[key] = value

    def __delitem__(self, key: str) -> None:
        env = _invocation_env.get()
        if env is None:
            super().__delitem__(key)
        else:
            del env[key]

    def __iter__(self):  # type: ignore[no-untyped-def]
        env = _invocation_env.get()
        return super().__iter__() if env is None else iter(list(env))

    def __len__(self) -> int:
        env = _invocation_env.get()
        return super().__len__() if env is None else len(env)

    def copy(self) -> dict[str, str]:
        env = _invocation_env.get()
        return super().copy() if env is None else dict(env)


def _install_environ() -> None:
    if type(os.environ) is not _InvocationEnviron:
        os.environ.__class__ = _InvocationEnviron


class LambdaContext:
    """The context object of the Python Lambda runtime (the attributes handlers and Powertools use)."""

    def __init__(self, spec: FunctionSpec, request_id: str) -> None:
        self.function_name = spec.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{spec.name}"
        self.log_stream_name = f"{datetime.now(timezone.utc):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = time.monotonic() + spec.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LambdaRuntime:
    """Invokes one tenant's declared functions in-process.

    `env_overrides` replaces declared variables for every function of the tenant (e.g. the dev
    server's `GRAPHQL_URL`); `code_roots` are extra import roots for handler modules (the Lambda
    zip root; the repository root is already importable); `code_package` is the package a new
    deployment replaces (`prepare`).
    """

    def __init__(
        self,
        tenant: LocalTenant,
        emulator: Emulator,
        *,
        env_overrides: Mapping[str, str] | None = None,
        code_roots: Iterable[str] = (),
        code_package: str = CODE_PACKAGE,
    ) -> None:
        _install_environ()
        for root in code_roots:
            if root not in sys.path:
                sys.path.insert(0, root)
        self.tenant = tenant
        self._host = {k: v for k, v in os.environ.items() if not k.startswith(_HOST_ONLY_PREFIXES)}
        self._aws = emulator.lambda_environment(tenant.region)
        self._overrides = dict(env_overrides or {})
        self._env = {
            spec.name: _function_environment(spec, self._host, self._aws, self._overrides)
            for spec in tenant.functions.values()
        }
        self._space = ModuleSpace.ordinary(code_package)
        self._handlers: dict[str, Handler] = {}
        self._locks = {name: threading.Lock() for name in tenant.functions}

    @property
    def space(self) -> ModuleSpace:
        """The code generation the next invocations run (`adopt` replaces it)."""
        return self._space

    def invoke(self, function_name: str, event: Any) -> Any:
        """Run the function's handler on `event` (JSON-able) and return its JSON result."""
        spec = self.tenant.function(function_name)
        handler = self._handler(spec)
        payload = _json_round_trip(event)
        context = LambdaContext(spec, str(uuid.uuid4()))
        started = time.monotonic()
        token = _invocation_env.set(self._env[spec.name])
        try:
            result = handler(payload, context)
        except Exception as exc:
            raise LambdaInvocationError(spec.name, type(exc).__name__, str(exc)) from exc
        finally:
            _invocation_env.reset(token)
            elapsed = time.monotonic() - started
            if elapsed > spec.timeout_s:
                log.warning("tenant=%s function=%s ran %.1fs, past its %ss timeout",
                            self.tenant.tenant, spec.name, elapsed, spec.timeout_s)
        try:
            return _json_round_trip(result)
        except (TypeError, ValueError) as exc:
            raise LambdaInvocationError(spec.name, "Runtime.MarshalError",
                                        f"Unable to marshal response: {exc}") from exc

    def warm(self) -> None:
        """Import every function's handler now (cold starts at startup, errors surface early)."""
        for spec in self.tenant.functions.values():
            self._handler(spec)

    def prepare(self, space: ModuleSpace) -> dict[str, Handler]:
        """Every function's handler cold-started in `space` (nothing changes yet): the first
        function whose module fails to initialise raises `LambdaInvocationError`."""
        return {spec.name: self._load(spec, space) for spec in self.tenant.functions.values()}

    def adopt(self, space: ModuleSpace, handlers: dict[str, Handler]) -> None:
        """From the next invocation on, run `handlers` (from `prepare(space)`)."""
        for lock in self._locks.values():
            lock.acquire()
        try:
            self._space, self._handlers = space, dict(handlers)
        finally:
            for lock in self._locks.values():
                lock.release()

    def reconfigure(self, tenant: LocalTenant, spec: FunctionSpec) -> None:
        """A new configuration of an existing function (Lambda's UpdateFunctionConfiguration): the
        loaded handler copy is dropped, so the next invocation is a cold start in a new environment."""
        with self._locks[spec.name]:
            self.tenant = tenant
            self._env[spec.name] = _function_environment(spec, self._host, self._aws, self._overrides)
            self._handlers.pop(spec.name, None)
            sys.modules.pop(self._module_name(spec, self._space), None)

    def environment(self, function_name: str) -> dict[str, str]:
        """A copy of the environment the function's handler sees."""
        return dict(self._env[self.tenant.function(function_name).name])

    # loading ---------------------------------------------------------------------------------
    def _handler(self, spec: FunctionSpec) -> Handler:
        handler = self._handlers.get(spec.name)
        if handler is not None:
            return handler
        with self._locks[spec.name]:
            if spec.name not in self._handlers:
                self._handlers[spec.name] = self._load(spec, self._space)
            return self._handlers[spec.name]

    def _load(self, spec: FunctionSpec, space: ModuleSpace) -> Handler:
        module_path, attr = _handler_path(spec)
        if not module_path or not attr:
            raise HandlerNotFoundError(spec.name, spec.handler, "expected 'module.function'")
        token = _invocation_env.set(self._env[spec.name])
        try:
            module = space.load_copy(module_path, self._module_name(spec, space))
        except ModuleNotFoundError as exc:
            if exc.name != module_path:
                raise LambdaInvocationError(spec.name, "Runtime.ImportModuleError", str(exc)) from exc
            raise HandlerNotFoundError(spec.name, spec.handler, f"module {module_path!r} not found") from exc
        except ImportError as exc:
            raise LambdaInvocationError(spec.name, "Runtime.ImportModuleError", str(exc)) from exc
        except SyntaxError as exc:
            raise LambdaInvocationError(spec.name, "Runtime.UserCodeSyntaxError", str(exc)) from exc
        except Exception as exc:
            raise LambdaInvocationError(spec.name, type(exc).__name__, str(exc)) from exc
        finally:
            _invocation_env.reset(token)
        handler = getattr(module, attr, None)
        if not callable(handler):
            raise HandlerNotFoundError(spec.name, spec.handler, f"{module_path} has no callable {attr!r}")
        return handler

    def _module_name(self, spec: FunctionSpec, space: ModuleSpace) -> str:
        """The handler module's own copy: a sibling of the original in `space`."""
        module_path = space.name_of(_handler_path(spec)[0])
        return f"{module_path}__local_{_slug(self.tenant.tenant)}_{_slug(spec.name)}"


def _handler_path(spec: FunctionSpec) -> tuple[str, str]:
    """`package.module.function` (or `package/module.function`) -> (module path, function)."""
    module_path, _, attr = spec.handler.rpartition(".")
    return module_path.replace("/", "."), attr


def _function_environment(spec: FunctionSpec, host: dict[str, str], aws: dict[str, str],
                          overrides: dict[str, str]) -> dict[str, str]:
    reserved = {
        **aws,
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
    }
    # Declared variables cannot override the reserved ones, as in AWS.
    return {**host, **spec.environment, **overrides, **reserved, **_FORCED}


def _json_round_trip(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)
