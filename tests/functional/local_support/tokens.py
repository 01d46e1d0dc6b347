"""Tokens for the auth tests: real ones from the emulator's user pools, and every kind a verifier
must refuse (expired, tampered, wrongly signed, `alg: none`, HS256 keyed with the public key).

Forged tokens are built with joserfc (signing) and by hand only where no library will produce
them on purpose (`alg: none`, HS256 keyed with a public key, a payload edited after signing).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey
from moto.cognitoidp.models import cognitoidp_backends

from tenantry.local.emulator import FAKE_ACCOUNT_ID


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def header_of(token: str) -> dict[str, Any]:
    segment = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def pool_key(region: str, pool_id: str) -> RSAKey:
    """The private key moto signs this pool's tokens with (one key for every pool)."""
    return cognitoidp_backends[FAKE_ACCOUNT_ID][region].user_pools[pool_id].json_web_key


def signed(claims: dict[str, Any], key: RSAKey, kid: str = "dummy") -> str:
    return jwt.encode({"alg": "RS256", "kid": kid}, claims, key)


def tampered(token: str, **changes: Any) -> str:
    """The same signature over an edited payload."""
    head, _, signature = token.split(".")
    return ".".join((head, b64url(json.dumps({**claims_of(token), **changes}).encode()), signature))


def unsigned(token: str) -> str:
    """`alg: none`, the claims unchanged, an empty signature."""
    head = b64url(json.dumps({**header_of(token), "alg": "none"}).encode())
    return f"{head}.{token.split('.')[1]}."


def hs256_with_public_key(token: str, public_key: RSAKey) -> str:
    """HS256 keyed with the issuer's public key (PEM), the classic algorithm-confusion forgery.
    By hand: joserfc refuses to use an asymmetric key as an HMAC secret (as it should)."""
    head = b64url(json.dumps({**header_of(token), "alg": "HS256"}).encode())
    signing_input = f"{head}.{token.split('.')[1]}".encode()
    mac = hmac.new(public_key.as_pem(private=False), signing_input, hashlib.sha256).digest()
    return f"{signing_input.decode()}.{b64url(mac)}"


def expired(token: str, key: RSAKey) -> str:
    """Re-signed by the issuer's own key, an hour past its expiry."""
    now = int(time.time())
    return signed({**claims_of(token), "iat": now - 7200, "auth_time": now - 7200, "exp": now - 3600}, key)


@dataclass(frozen=True)
class Pool:
    id: str
    region: str
    client_id: str
    username: str
    password: str

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.id}"


def make_pool(emulator: Any, region: str, name: str, groups: tuple[str, ...] = ()) -> Pool:
    idp = emulator.client("cognito-idp", region)
    pool_id = idp.create_user_pool(PoolName=name, UsernameAttributes=["email"])["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName=f"{name}-web")["UserPoolClient"]["ClientId"]
    username, password = f"alice@{name}.dev.local", "Passw0rd!Passw0rd"
    idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    for group in groups:
        idp.create_group(UserPoolId=pool_id, GroupName=group)
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)
    return Pool(pool_id, region, client_id, username, password)


def tokens_of(emulator: Any, pool: Pool) -> dict[str, str]:
    from tenantry.local.devusers import sign_in

    return sign_in(emulator.client("cognito-idp", pool.region), pool.id, pool.client_id,
                   pool.username, pool.password)
