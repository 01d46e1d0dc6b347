"""API_KEY mode: the key issued for this API (tenant), compared in constant time."""

from __future__ import annotations

import hmac
import secrets
from typing import Mapping

from tenantry.appsync.auth import API_KEY, NOT_AUTHORIZED, Caller, SignedRequest, UnauthorizedError

API_KEY_PREFIX = "da2-"


def new_api_key() -> str:
    """A fresh local API key, per tenant and per run: unguessable, so an API served beyond
    loopback is not open to anyone who knows the tenant's name. Frontends read it from dev.json."""
    return f"{API_KEY_PREFIX}{secrets.token_hex(13)}"


class ApiKeyAuthenticator:
    mode = API_KEY

    def __init__(self, tenant: str, api_key: str) -> None:
        self.tenant = tenant
        self.api_key = api_key

    async def authenticate(self, request: SignedRequest, headers: Mapping[str, str]) -> Caller:
        return self.verify(headers.get("x-api-key", ""))

    def verify(self, key: str) -> Caller:
        if not hmac.compare_digest(key.encode(), self.api_key.encode()):
            raise UnauthorizedError(self.tenant, NOT_AUTHORIZED, "not this API's key")
        return Caller(mode=API_KEY, identity=None)
