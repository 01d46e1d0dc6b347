"""Dev users keep their identity across restarts, so restored accounts are still theirs.

An account's owner is the `sub` of the token that opened it; moto makes a new random `sub` for
every user it creates (`AdminCreateUser`), so after a restart alice would no longer own alice's
accounts. `keep_subs` runs after the dev users are seeded: a user seen before gets back the `sub`
saved in `.tenantry/state/<tenant>/users.json`, a new one has its `sub` saved. Passwords are not
kept (the seeding sets them every run).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tenantry.local.emulator import FAKE_ACCOUNT_ID, Emulator

USERS_FILE = "users.json"


def keep_subs(emulator: Emulator, region: str, user_pool_id: str, path: Path) -> dict[str, str]:
    """Username -> `sub` of every user of the pool, the saved ones put back; saved to `path`."""
    from moto.cognitoidp.models import cognitoidp_backends

    saved: dict[str, str] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    pool = cognitoidp_backends[FAKE_ACCOUNT_ID][region].user_pools[user_pool_id]
    # Cognito requests take every backend lock (tenantry.local.emulator): this one keeps them out.
    with emulator.backend_lock("*", "*"):
        for username, user in pool.users.items():
            if username in saved:
                set_sub(user, saved[username])
            else:
                saved[username] = user.id
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(saved, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return saved


def set_sub(user: object, sub: str) -> None:
    """moto 5.2's `CognitoIdpUser` keeps the `sub` twice: as its `id` (the tokens' `sub` claim and
    the user's `Username` when none was given) and as the `sub` attribute (AdminGetUser, ListUsers)."""
    user.id = sub                                                      # type: ignore[attr-defined]
    user.update_attributes([{"Name": "sub", "Value": sub}])            # type: ignore[attr-defined]
