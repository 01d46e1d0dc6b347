"""Dev users: the people of a tenant's `dev.users` section, made in its emulated user pool.

`tenantry dev` creates each user (e-mail `<name>@<tenant>.dev.local`, verified, a fresh random
password that satisfies any Cognito password policy, status CONFIRMED), puts them in their groups,
and writes their credentials into dev.json; `tenantry token` signs them in. Local only: Pulumi never
reads `dev.users`, and nothing here runs against AWS.

Sign-in is `AdminInitiateAuth` with `ADMIN_USER_PASSWORD_AUTH` (the operator's flow, IAM-signed;
moto does not check the client's `explicitAuthFlows`, so the declared client needs no extra flow).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Iterable

from tenantry.local.cognito import UserPoolInfo

EMAIL_DOMAIN = "{tenant}.dev.local"


class DevUserError(Exception):
    def __init__(self, tenant: str, user: str, reason: str) -> None:
        super().__init__(f"{tenant}: dev user {user!r}: {reason}")
        self.tenant = tenant
        self.user = user
        self.reason = reason


@dataclass(frozen=True)
class DevUserCredentials:
    name: str
    username: str          # the e-mail address (the pool's username attribute)
    password: str
    sub: str
    groups: tuple[str, ...]


def dev_password() -> str:
    """Random, and of every character class a password policy may require."""
    return f"Dev-{secrets.token_urlsafe(18)}-a1A!"


def seed(idp: Any, tenant: str, pool: UserPoolInfo,
         users: Iterable[tuple[str, tuple[str, ...]]]) -> list[DevUserCredentials]:
    """`users`: (name, groups). Each group must be one the tenant declares."""
    made = []
    for name, groups in users:
        unknown = [g for g in groups if g not in pool.groups]
        if unknown:
            raise DevUserError(tenant, name, f"groups {unknown} are not declared "
                                             f"(the pool has {list(pool.groups)})")
        email = f"{name}@{EMAIL_DOMAIN.format(tenant=tenant)}"
        password = dev_password()
        created = idp.admin_create_user(
            UserPoolId=pool.id, Username=email, MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}])
        idp.admin_set_user_password(UserPoolId=pool.id, Username=email, Password=password, Permanent=True)
        for group in groups:
            idp.admin_add_user_to_group(UserPoolId=pool.id, Username=email, GroupName=group)
        sub = next(a["Value"] for a in created["User"]["Attributes"] if a["Name"] == "sub")
        made.append(DevUserCredentials(name, email, password, sub, tuple(groups)))
    return made


def sign_in(idp: Any, pool_id: str, client_id: str, username: str, password: str) -> dict[str, str]:
    """The user's tokens (`IdToken`, `AccessToken`, `RefreshToken`, ...)."""
    answer = idp.admin_initiate_auth(
        UserPoolId=pool_id, ClientId=client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password})
    if "AuthenticationResult" not in answer:
        raise DevUserError("-", username, f"sign-in asked for {answer.get('ChallengeName')!r}")
    return answer["AuthenticationResult"]
