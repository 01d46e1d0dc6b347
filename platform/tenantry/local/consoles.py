"""Each tenant's console, wired to what `tenantry dev` made for it: its dev users sign in through
the emulated user pool (the same `AdminInitiateAuth` as `tenantry token`), a sandbox's API key is
offered where the tenant declares one, and reload events come from the dev server's stream."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tenantry.console import ConsoleTenant, Credential, DevUserView, UnknownDevUserError
from tenantry.local import devusers

if TYPE_CHECKING:
    from tenantry.local.dev import Endpoints


def console_tenants(urls: Mapping[str, "Endpoints"], idp_for: Any, events_url: str | None) -> dict[str, ConsoleTenant]:
    """`idp_for(region)`: a cognito-idp client on the emulator."""
    return {name: _console(name, url, idp_for, events_url) for name, url in urls.items()}


def _console(name: str, url: "Endpoints", idp_for: Any, events_url: str | None) -> ConsoleTenant:
    users = dict(url.users)
    idp = functools.cache(lambda: idp_for(url.region))     # one client, made at the first sign-in

    async def sign_in(user: str) -> Credential:
        credentials = users.get(user)
        if credentials is None or url.user_pool_id is None or url.user_pool_client_id is None:
            raise UnknownDevUserError(name, user)
        tokens = await asyncio.to_thread(
            devusers.sign_in, idp(), url.user_pool_id, url.user_pool_client_id,
            credentials["username"], credentials["password"])
        return Credential(token=tokens["IdToken"], sub=credentials["sub"], groups=tuple(credentials["groups"]))

    views = [DevUserView(user, tuple(c["groups"])) for user, c in users.items()]
    return ConsoleTenant(name, views, sign_in, api_key=url.api_key, events_url=events_url)
