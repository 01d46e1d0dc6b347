"""AWS_IAM mode: SigV4 for service `appsync`, with credentials the emulator knows.

A SigV4 request must be signed with the fake credentials every in-process Lambda runs with; the
signature is recomputed with botocore's own signer, so a client that can call real AppSync can call
the emulator unchanged. Those credentials are public (`testing`/`testing`): SigV4 here proves
nothing about the caller, which is why `tenantry dev` refuses a non-loopback host without
`--allow-remote`.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
from typing import Mapping

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tenantry.appsync.auth import AWS_IAM, Caller, SignedRequest, UnauthorizedError
from tenantry.local.emulator import FAKE_ACCOUNT_ID, FAKE_CREDENTIALS

# access key -> secret key: the credentials every in-process Lambda signs with
_KNOWN_CREDENTIALS = {FAKE_CREDENTIALS["aws_access_key_id"]: FAKE_CREDENTIALS["aws_secret_access_key"]}

MAX_CLOCK_SKEW = dt.timedelta(minutes=15)
SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
_AUTH_HEADER = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]+)"
)


class SigV4Authenticator:
    mode = AWS_IAM

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant

    async def authenticate(self, request: SignedRequest, headers: Mapping[str, str]) -> Caller:
        return self.verify(request, headers)

    def verify(self, request: SignedRequest, headers: Mapping[str, str]) -> Caller:
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
                return Caller(mode=AWS_IAM, identity=_iam_identity(access_key, request.source_ip))
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


def _iam_identity(access_key: str, source_ip: str) -> dict:
    return {
        "accountId": FAKE_ACCOUNT_ID,
        "cognitoIdentityAuthProvider": None,
        "cognitoIdentityAuthType": None,
        "cognitoIdentityId": None,
        "cognitoIdentityPoolId": None,
        "sourceIp": [source_ip],
        "userArn": f"arn:aws:iam::{FAKE_ACCOUNT_ID}:user/{access_key}",
        "username": access_key,
        "accessKey": access_key,
    }
