"""The local platform's AWS side: an embedded emulator, the applier that creates what a tenant
declares in it, the in-process Lambda runtime and the event source mapping pollers.

    with Emulator() as emulator:
        tenant = apply(declare(config), emulator, tenant="acme")
        runtime = LambdaRuntime(tenant, emulator, env_overrides={"GRAPHQL_URL": url})
        with Pollers(tenant, runtime, emulator):
            runtime.invoke("acme-commands", event)
"""

from tenantry.local.applier import apply
from tenantry.local.emulator import Emulator, EmulatorPortInUseError
from tenantry.local.errors import (
    DrainTimeoutError,
    FilterPatternError,
    HandlerNotFoundError,
    InvalidDeclarationError,
    LambdaInvocationError,
    LocalPlatformError,
    UnknownFunctionError,
    UnresolvedReferenceError,
    UnsupportedResourceError,
)
from tenantry.local.lambda_runtime import LambdaContext, LambdaRuntime
from tenantry.local.model import EventSourceMapping, FunctionSpec, LocalTenant
from tenantry.local.pollers import Pollers

__all__ = [
    "DrainTimeoutError", "Emulator", "EmulatorPortInUseError", "EventSourceMapping",
    "FilterPatternError", "FunctionSpec", "HandlerNotFoundError", "InvalidDeclarationError",
    "LambdaContext", "LambdaInvocationError", "LambdaRuntime", "LocalPlatformError", "LocalTenant",
    "Pollers", "UnknownFunctionError", "UnresolvedReferenceError", "UnsupportedResourceError", "apply",
]
