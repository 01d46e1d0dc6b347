"""The one translation from a failed command to the AppSync error a client sees.

The command Lambda returns `{"error": {"message", "type", "info"}}` instead of raising, and the
generic `resolvers/lambda.js` turns it into `util.error(message, type, null, info)`: that is how
a direct Lambda resolver gets a typed `errorType` (a raised exception would surface as
"Lambda:Unhandled"). Anything else is an internal fault: the client gets `InternalFailure` with a
generic message and an error id, never the exception's text (DESIGN section 6), which the handler
logs under that id.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from lambdas.banking.errors import DomainError

VALIDATION_ERROR = "ValidationError"
INTERNAL_FAILURE = "InternalFailure"
_SCALARS = (str, int, float, bool, type(None))


def _subclasses(cls: type) -> list[type]:
    return [c for sub in cls.__subclasses__() for c in (sub, *_subclasses(sub))]


def rejection_types() -> tuple[str, ...]:
    """Every errorType a command can be rejected with: the domain's, and input validation."""
    return tuple(sorted({c.error_type for c in _subclasses(DomainError)} | {VALIDATION_ERROR}))


def appsync_error(error_type: str, message: str, info: dict[str, Any] | None = None) -> dict:
    return {"error": {"message": message, "type": error_type, "info": info or {}}}


def from_domain_error(exc: DomainError) -> dict:
    fields = {k: v for k, v in vars(exc).items() if not k.startswith("_") and isinstance(v, _SCALARS)}
    return appsync_error(exc.error_type, str(exc), fields)


def from_validation_error(exc: ValidationError) -> dict:
    problems = [(".".join(str(part) for part in e["loc"]) or "input", e["msg"]) for e in exc.errors()]
    message = "; ".join(f"{field}: {msg}" for field, msg in problems)
    return appsync_error(VALIDATION_ERROR, message, {"fields": [field for field, _ in problems]})


def internal_failure(error_id: str) -> dict:
    return appsync_error(INTERNAL_FAILURE, f"An internal error occurred (error id {error_id})", {"errorId": error_id})
