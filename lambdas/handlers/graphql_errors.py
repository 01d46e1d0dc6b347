"""The one translation from a failed command to the AppSync error a client sees.

The command Lambda returns `{"error": {"message", "type", "info"}}` instead of raising, and the
generic `resolvers/lambda.js` turns it into `util.error(message, type, null, info)`: that is how
a direct Lambda resolver gets a typed `errorType` (a raised exception would surface as
"Lambda:Unhandled"). Anything not translated here is a bug and is raised as such.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from lambdas.banking.errors import DomainError

VALIDATION_ERROR = "ValidationError"
_SCALARS = (str, int, float, bool, type(None))


def appsync_error(error_type: str, message: str, info: dict[str, Any] | None = None) -> dict:
    return {"error": {"message": message, "type": error_type, "info": info or {}}}


def from_domain_error(exc: DomainError) -> dict:
    fields = {k: v for k, v in vars(exc).items() if not k.startswith("_") and isinstance(v, _SCALARS)}
    return appsync_error(exc.error_type, str(exc), fields)


def from_validation_error(exc: ValidationError) -> dict:
    problems = [(".".join(str(part) for part in e["loc"]) or "input", e["msg"]) for e in exc.errors()]
    message = "; ".join(f"{field}: {msg}" for field, msg in problems)
    return appsync_error(VALIDATION_ERROR, message, {"fields": [field for field, _ in problems]})
