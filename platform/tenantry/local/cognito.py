"""The declared Cognito user pools, app clients and groups, created in the emulator (moto).

pulumi-aws inputs (camelCase) become the CreateUserPool / CreateUserPoolClient / CreateGroup
parameters they stand for. The emulator gives pools and clients ids of its own, so the declared
(mock) id of each is remembered next to the emulator's (`arns`, as for every other reference) and
references between them (a client's or a group's `userPoolId`, the GraphQLApi's `userPoolConfig`)
are resolved through it.

What moto does not do, and the local platform therefore does not either: it checks no
`explicitAuthFlows` (every flow works on every client), signs every pool's tokens with one key
(only `iss` tells pools apart; the AppSync emulator checks it), accepts any password in the SRP
flow (`PASSWORD_VERIFIER` is not verified) and sends no e-mail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from tenantry.components.naming import issuer_url
from tenantry.inventory import DeclaredResource
from tenantry.local.errors import UnresolvedReferenceError

Clients = Callable[[str], Any]


@dataclass(frozen=True)
class UserPoolInfo:
    logical_name: str
    name: str
    id: str                                              # the emulator's pool id
    region: str
    clients: dict[str, str] = field(default_factory=dict)   # client name -> emulator client id
    groups: tuple[str, ...] = ()

    @property
    def issuer(self) -> str:
        return issuer_url(self.region, self.id)


def _pool_args(res: DeclaredResource, name: str) -> dict[str, Any]:
    i = res.inputs
    args: dict[str, Any] = {"PoolName": name}
    for key, aws in (("usernameAttributes", "UsernameAttributes"),
                     ("autoVerifiedAttributes", "AutoVerifiedAttributes"),
                     ("aliasAttributes", "AliasAttributes")):
        if i.get(key):
            args[aws] = list(i[key])
    policy = i.get("passwordPolicy") or {}
    if policy:
        args["Policies"] = {"PasswordPolicy": {
            aws: policy[key] for key, aws in (
                ("minimumLength", "MinimumLength"), ("requireUppercase", "RequireUppercase"),
                ("requireLowercase", "RequireLowercase"), ("requireNumbers", "RequireNumbers"),
                ("requireSymbols", "RequireSymbols"),
                ("temporaryPasswordValidityDays", "TemporaryPasswordValidityDays"))
            if policy.get(key) is not None}}
    if (i.get("usernameConfiguration") or {}).get("caseSensitive") is not None:
        args["UsernameConfiguration"] = {"CaseSensitive": bool(i["usernameConfiguration"]["caseSensitive"])}
    if i.get("mfaConfiguration"):
        args["MfaConfiguration"] = i["mfaConfiguration"]
    admin = i.get("adminCreateUserConfig") or {}
    if admin.get("allowAdminCreateUserOnly") is not None:
        args["AdminCreateUserConfig"] = {"AllowAdminCreateUserOnly": bool(admin["allowAdminCreateUserOnly"])}
    if i.get("deletionProtection"):
        args["DeletionProtection"] = i["deletionProtection"]
    return args


def _client_args(res: DeclaredResource, pool_id: str) -> dict[str, Any]:
    i = res.inputs
    args: dict[str, Any] = {"UserPoolId": pool_id, "ClientName": str(i.get("name") or res.name),
                            "GenerateSecret": bool(i.get("generateSecret"))}
    if i.get("explicitAuthFlows"):
        args["ExplicitAuthFlows"] = list(i["explicitAuthFlows"])
    for key, aws in (("accessTokenValidity", "AccessTokenValidity"), ("idTokenValidity", "IdTokenValidity"),
                     ("refreshTokenValidity", "RefreshTokenValidity")):
        if i.get(key) is not None:
            args[aws] = int(i[key])
    units = i.get("tokenValidityUnits") or {}
    if units:
        args["TokenValidityUnits"] = {aws: units[key] for key, aws in (
            ("accessToken", "AccessToken"), ("idToken", "IdToken"), ("refreshToken", "RefreshToken"))
            if units.get(key)}
    return args


def create_user_pools(clients: Clients, region: str, pools: list[DeclaredResource],
                      app_clients: list[DeclaredResource], groups: list[DeclaredResource],
                      arns: dict[str, str]) -> dict[str, UserPoolInfo]:
    """Pools first, then the clients and groups that name them; keyed by the emulator's pool id."""
    idp = clients("cognito-idp")
    created: dict[str, dict[str, Any]] = {}
    for res in pools:
        name = str(res.inputs.get("name") or res.name)
        pool = idp.create_user_pool(**_pool_args(res, name))["UserPool"]
        created[pool["Id"]] = {"res": res, "name": name, "clients": {}, "groups": []}
        for declared in (res.outputs.get("id"), res.name):
            if isinstance(declared, str) and declared:
                arns[declared] = pool["Id"]
        if isinstance(res.outputs.get("arn"), str):
            arns[res.outputs["arn"]] = pool["Arn"]
    for res in app_clients:
        pool_id = _pool_of(res, arns, created)
        client = idp.create_user_pool_client(**_client_args(res, pool_id))["UserPoolClient"]
        created[pool_id]["clients"][client["ClientName"]] = client["ClientId"]
        if isinstance(res.outputs.get("id"), str):
            arns[res.outputs["id"]] = client["ClientId"]
    for res in groups:
        pool_id = _pool_of(res, arns, created)
        name = str(res.inputs.get("name") or res.name)
        idp.create_group(GroupName=name, UserPoolId=pool_id,
                         **({"Description": res.inputs["description"]} if res.inputs.get("description") else {}),
                         **({"Precedence": int(res.inputs["precedence"])}
                            if res.inputs.get("precedence") is not None else {}))
        created[pool_id]["groups"].append(name)
    return {pool_id: UserPoolInfo(c["res"].name, c["name"], pool_id, region, dict(c["clients"]),
                                  tuple(c["groups"])) for pool_id, c in created.items()}


def _pool_of(res: DeclaredResource, arns: dict[str, str], created: dict[str, Any]) -> str:
    ref = str(res.inputs.get("userPoolId", ""))
    pool_id = arns.get(ref, ref)
    if pool_id not in created:
        raise UnresolvedReferenceError(res.name, "userPoolId", ref)
    return pool_id
