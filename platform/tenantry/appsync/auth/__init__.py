"""Request authentication for the local AppSync emulator: API key and SigV4 (AWS_IAM).

AppSync's rules, as the emulator applies them:
- an API key is valid only for the API (tenant) it was issued for;
- a SigV4 request must be signed for service `appsync` with credentials the emulator knows (the
  fake credentials every in-process Lambda runs with); the signature is recomputed with botocore's
  own signer, so a client that can call real AppSync can call the emulator unchanged. Those
  credentials are public (`testing`/`testing`): SigV4 here proves nothing about the caller, which
  is why `tenantry dev` refuses a non-loopback host without `--allow-remote`;
- anything else is `UnauthorizedException` before any GraphQL is parsed.

The resulting `Caller` carries the auth mode (for directive-based field authorization) and the
AppSync `identity` object resolvers see (`None` for API key callers, as in AppSync).
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Mapping

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tenantry.local.emulator import FAKE_ACCOUNT_ID, FAKE_CREDENTIALS

API_KEY = "API_KEY"
AWS_IAM = "AWS_IAM"

# access key -> secret key: the credentials every in-process Lambda signs with
_KNOWN_CREDENTIALS = {FAKE_CREDENTIALS["aws_access_key_id"]: FAKE_CREDENTIALS["aws_secret_access_key"]}

MAX_CLOCK_SKEW = dt.timedelta(minutes=15)
SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
_AUTH_HEADER = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]+)"
)


class UnauthorizedError(Exception):
    """The request carries no valid credentials for this API (AppSync: UnauthorizedException)."""

    error_type = "UnauthorizedException"

    def __init__(self, tenant: str, reason: str) -> None:
        super().__init__(reason)
        self.tenant = tenant
        self.reason = reason


@dataclass(frozen=True)
class Caller:
    mode: str                       # API_KEY | AWS_IAM
    identity: dict | None           # AppSync `ctx.identity`


API_KEY_PREFIX = "da2-"


def new_api_key() -> str:
    """A fresh local API key, per tenant and per run: unguessable, so an API served beyond
    loopback is not open to anyone who knows the tenant's name. Frontends read it from dev.json."""
    return f"{API_KEY_PREFIX}{secrets.token_hex(13)}"


@dataclass(frozen=True)
class SignedRequest:
    """What a SigV4 verifier needs of an HTTP request (or of a real-time auth header set)."""
    method: str
    paths: tuple[str, ...]          # candidate canonical paths (clients sign different ones)
    headers: Mapping[str, str]
    body: bytes


class Authenticator:
    """Verifies callers of one tenant's API."""

    def __init__(self, tenant: str, api_key: str) -> None:
        self.tenant = tenant
        self.api_key = api_key

    def authenticate(self, request: SignedRequest) -> Caller:
        headers = {k.lower(): v for k, v in request.headers.items()}
        if "authorization" in headers and headers["authorization"].startswith("AWS4-HMAC-SHA256"):
            return self._verify_sigv4(request, headers)
        key = headers.get("x-api-key")
        if key is None:
            raise UnauthorizedError(self.tenant, "Valid authorization header not provided.")
        if not hmac.compare_digest(key, self.api_key):
            raise UnauthorizedError(self.tenant, "You are not authorized to make this call.")
        return Caller(mode=API_KEY, identity=None)

    def _verify_sigv4(self, request: SignedRequest, headers: dict[str, str]) -> Caller:
        match = _AUTH_HEADER.match(headers["authorization"])
        if match is None:
            raise UnauthorizedError(self.tenant, "Authorization header is not a valid SigV4 header.")
        access_key, date, region, service, terminator = _split_credential(match["credential"])
        secret = _KNOWN_CREDENTIALS.get(access_key)
        if secret is None or service != "appsync" or terminator != "aws4_request":
            raise UnauthorizedError(self.tenant, "The security token included in the request is invalid.")
        timestamp = headers.get("x-amz-date", "")
        _check_timestamp(self.tenant, timestamp, date)
        signed = match["signed"].split(";")
        missing = [name for name in signed if name not in headers]
        if missing:
            raise UnauthorizedError(self.tenant, f"Signed headers missing from request: {missing}")
        signer = SigV4Auth(Credentials(access_key, secret), "appsync", region)
        for path in request.paths:
            expected = _signature(signer, request, path, {n: headers[n] for n in signed}, timestamp)
            if hmac.compare_digest(expected, match["signature"]):
                return Caller(mode=AWS_IAM, identity=_iam_identity(access_key, headers))
        raise UnauthorizedError(
            self.tenant,
            "The request signature we calculated does not match the signature you provided.",
        )


def _split_credential(credential: str) -> tuple[str, str, str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5:
        return ("", "", "", "", "")
    return parts[0], parts[1], parts[2], parts[3], parts[4]


def _check_timestamp(tenant: str, timestamp: str, scope_date: str) -> None:
    try:
        when = dt.datetime.strptime(timestamp, SIGV4_TIMESTAMP).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise UnauthorizedError(tenant, "X-Amz-Date header missing or malformed.") from None
    if timestamp[:8] != scope_date:
        raise UnauthorizedError(tenant, "Credential scope date does not match X-Amz-Date.")
    if abs(dt.datetime.now(dt.timezone.utc) - when) > MAX_CLOCK_SKEW:
        raise UnauthorizedError(tenant, "Signature expired: X-Amz-Date is too far from now.")


def _signature(signer: SigV4Auth, request: SignedRequest, path: str,
               signed_headers: dict[str, str], timestamp: str) -> str:
    # Rebuild exactly the request the client signed and let botocore compute its signature.
    host = signed_headers.get("host", "localhost")
    aws_request = AWSRequest(method=request.method, url=f"https://{host}{path}",
                             headers=signed_headers, data=request.body)
    aws_request.context["timestamp"] = timestamp
    canonical = signer.canonical_request(aws_request)
    return signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)


def _iam_identity(access_key: str, headers: dict[str, str]) -> dict:
    return {
        "accountId": FAKE_ACCOUNT_ID,
        "cognitoIdentityAuthProvider": None,
        "cognitoIdentityAuthType": None,
        "cognitoIdentityId": None,
        "cognitoIdentityPoolId": None,
        "sourceIp": [headers.get("x-forwarded-for", "127.0.0.1")],
        "userArn": f"arn:aws:iam::{FAKE_ACCOUNT_ID}:user/{access_key}",
        "username": access_key,
        "accessKey": access_key,
    }
