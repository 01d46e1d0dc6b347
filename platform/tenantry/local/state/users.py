"""Dev users keep their identity across restarts, so restored accounts are still theirs.

An account's owner is the `sub` of the token that opened it; moto makes a new random `sub` for
every user it creates (`AdminCreateUser`), so after a restart alice would no longer own alice's
accounts. `keep_subs` runs after the dev users are seeded: a user seen before gets back the `sub`
saved in `.tenantry/state/<tenant>/users.json`, a new one has its `sub` saved. Passwords are not
kept (the seeding sets them every run).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tenantry.local.devstate import write_private_text
from tenantry.local.emulator import FAKE_ACCOUNT_ID, Emulator

USERS_FILE = "users.json"


def keep_subs(emulator: Emulator, region: str, user_pool_id: str, usernames: Iterable[str],
              path: Path) -> dict[str, str]:
    """Username (as the seeding gave it, e.g. the e-mail) -> `sub` of each of `usernames`: the saved
    ones put back on moto's user, the new ones saved; `path` rewritten (owner-only)."""
    from moto.cognitoidp.models import cognitoidp_backends

    saved: dict[str, str] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    pool = cognitoidp_backends[FAKE_ACCOUNT_ID][region].user_pools[user_pool_id]
    # Cognito requests take every backend lock (tenantry.local.emulator): this one keeps them out.
    with emulator.backend_lock("*", "*"):
        for username in usernames:
            user = pool._get_user(username)     # moto's lookup: by username or by username attribute
            if username in saved:
                set_sub(pool, user, saved[username])
            else:
                saved[username] = user.id
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private_text(path, json.dumps(saved, indent=2, sort_keys=True) + "\n")
    return saved


def set_sub(pool: Any, user: Any, sub: str) -> None:
    """moto 5.2's `CognitoIdpUser` keeps the `sub` as its `id` (the tokens' `sub` claim) and as the
    `sub` attribute (AdminGetUser, ListUsers); in a pool whose users sign in with an e-mail
    (`UsernameAttributes`) it is their `Username` too, and the key of `pool.users`."""
    if user.username == user.id:
        del pool.users[user.username]
        user.username = sub
        pool.users[sub] = user
    user.id = sub
    user.update_attributes([{"Name": "sub", "Value": sub}])
