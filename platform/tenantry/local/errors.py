"""Errors of the local platform. Each carries its facts as fields; messages are for humans only."""

from __future__ import annotations


class LocalPlatformError(Exception):
    """Base of every error of `tenantry.local`."""


class UnsupportedResourceError(LocalPlatformError):
    """A declared resource that holds or moves data, which the local platform cannot emulate."""

    def __init__(self, resource_type: str, name: str, reason: str = "not emulated locally") -> None:
        super().__init__(f"{resource_type} {name!r}: {reason}")
        self.resource_type = resource_type
        self.name = name
        self.reason = reason


class InvalidDeclarationError(LocalPlatformError):
    """A declared resource whose inputs are missing or malformed for what we must create."""

    def __init__(self, resource_type: str, name: str, field: str, reason: str) -> None:
        super().__init__(f"{resource_type} {name!r}: {field}: {reason}")
        self.resource_type = resource_type
        self.name = name
        self.field = field
        self.reason = reason


class UnresolvedReferenceError(LocalPlatformError):
    """A declared ARN or name that points at nothing this tenant declares."""

    def __init__(self, resource_name: str, field: str, reference: str) -> None:
        super().__init__(f"{resource_name!r}: {field} refers to {reference!r}, which is not declared")
        self.resource_name = resource_name
        self.field = field
        self.reference = reference


class UnknownFunctionError(LocalPlatformError):
    def __init__(self, tenant: str, function: str) -> None:
        super().__init__(f"tenant {tenant!r} declares no function {function!r}")
        self.tenant = tenant
        self.function = function


class FilterPatternError(LocalPlatformError):
    """A Lambda filter pattern using syntax the local platform does not implement (or invalid)."""

    def __init__(self, pattern: object, reason: str) -> None:
        super().__init__(f"filter pattern {pattern!r}: {reason}")
        self.pattern = pattern
        self.reason = reason


class LambdaInvocationError(LocalPlatformError):
    """The handler raised (or its result could not be serialized), as Lambda reports it:
    `error_type` is Lambda's `errorType` (the exception class name), `message` its `errorMessage`.
    The original exception is chained as `__cause__`.
    """

    def __init__(self, function: str, error_type: str, message: str) -> None:
        super().__init__(f"{function}: {error_type}: {message}")
        self.function = function
        self.error_type = error_type
        self.message = message


class HandlerNotFoundError(LocalPlatformError):
    def __init__(self, function: str, handler: str, reason: str) -> None:
        super().__init__(f"{function}: handler {handler!r}: {reason}")
        self.function = function
        self.handler = handler
        self.reason = reason


class DrainTimeoutError(LocalPlatformError):
    def __init__(self, timeout_s: float, busy: list[str]) -> None:
        super().__init__(f"pollers not caught up after {timeout_s}s: {', '.join(busy) or '-'}")
        self.timeout_s = timeout_s
        self.busy = busy
