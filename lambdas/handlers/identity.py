"""The caller as AppSync passes it to a direct-Lambda resolver (`event["identity"]`), translated
once into a policy caller (`lambdas.banking.policy`). The shapes AppSync sends per mode:
- user pools: {"sub", "issuer", "username", "claims", "sourceIp", "defaultAuthStrategy", "groups"};
- OIDC:       {"sub", "issuer", "claims"} (groups from the `groups` claim);
- AWS_IAM:    {"accountId", "userArn", "username", "sourceIp", "cognitoIdentity...": null, ...};
- API key:    null.
"""

from __future__ import annotations

from typing import Any

from lambdas.banking.errors import UnauthorizedError
from lambdas.banking.policy import ApiKey, Caller, Service, User

# Cognito puts groups in `cognito:groups` (and AppSync copies them to `groups`); OIDC providers
# commonly use `groups`.
_GROUP_CLAIMS = ("cognito:groups", "groups")


def caller_from_identity(identity: dict[str, Any] | None) -> Caller:
    if identity is None:
        return ApiKey()
    if identity.get("sub"):
        return User(str(identity["sub"]), _groups(identity))
    if identity.get("userArn"):
        return Service(str(identity["userArn"]))
    # Another mode (a Lambda authorizer, say) is not one this API declares: refuse, never guess.
    raise UnauthorizedError("act as an unrecognised caller")


def _groups(identity: dict[str, Any]) -> frozenset[str]:
    groups = identity.get("groups")
    claims = identity.get("claims") or {}
    for claim in _GROUP_CLAIMS:
        if groups is None:
            groups = claims.get(claim)
    if isinstance(groups, str):          # a single group may arrive as a string
        groups = [groups]
    return frozenset(str(g) for g in groups or ())
