"""`Publisher` implementations: AppSync (`publishAccountUpdate`, IAM-signed) and a recording fake.

The mutation selects every field of `AccountUpdate` (DESIGN section 3): AppSync forwards to
`onAccountUpdated` subscribers only the fields the publishing mutation selected.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import boto3
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from lambdas.banking.projections import ACCOUNT_UPDATE_FIELDS, account_update

PUBLISH_MUTATION = (
    "mutation PublishAccountUpdate($input: AccountUpdateInput!) "
    "{ publishAccountUpdate(input: $input) { " + " ".join(ACCOUNT_UPDATE_FIELDS) + " } }"
)
_REGION_IN_HOST = re.compile(r"\.appsync-api\.([a-z0-9-]+)\.amazonaws\.com")
# One connection per concurrent publisher thread: at least the projector's PARALLEL_AGGREGATES.
_CONNECTIONS = 10
# Longer than AppSync's own 30-second execution limit, on purpose: when a publish times out here,
# AppSync has already given up on it, so it can never be delivered after the account's next one.
PUBLISH_TIMEOUT_S = 35.0


class PublishError(Exception):
    """AppSync refused or failed a publish: the projector reports the aggregate's records failed."""

    def __init__(self, account_id: str, status: int, errors: list[Any]) -> None:
        super().__init__(f"publishAccountUpdate for {account_id}: HTTP {status}, errors {errors}")
        self.account_id = account_id
        self.status = status
        self.errors = errors


class AppSyncPublisher:
    def __init__(self, url: str, *, region: str | None = None, credentials: Any = None, http: Any = None) -> None:
        self.url = url
        match = _REGION_IN_HOST.search(url)
        self.region = region or (match.group(1) if match else os.environ.get("AWS_REGION", "us-east-1"))
        # Lambda's execution-role credentials come from the environment; resolved once per container.
        self.credentials = credentials or boto3.Session().get_credentials()
        # AWS_CA_BUNDLE: the CA bundle AWS SDKs honour; set when the API is served by a private CA.
        self.http = http or urllib3.PoolManager(timeout=urllib3.Timeout(connect=2.0, read=PUBLISH_TIMEOUT_S),
                                                retries=False, maxsize=_CONNECTIONS,
                                                ca_certs=os.environ.get("AWS_CA_BUNDLE"))

    def signed_request(self, row: dict) -> AWSRequest:
        body = json.dumps({"query": PUBLISH_MUTATION, "variables": {"input": account_update(row)}},
                          separators=(",", ":"))
        request = AWSRequest(method="POST", url=self.url, data=body.encode(),
                             headers={"Content-Type": "application/json"})
        SigV4Auth(self.credentials.get_frozen_credentials(), "appsync", self.region).add_auth(request)
        return request

    def publish(self, row: dict) -> None:
        request = self.signed_request(row)
        response = self.http.request("POST", self.url, body=request.body, headers=dict(request.headers))
        try:
            payload = json.loads(response.data or b"{}")
        except ValueError:
            payload = {"errors": [response.data[:200].decode(errors="replace")]}
        errors = payload.get("errors") or []
        if response.status != 200 or errors:
            raise PublishError(account_update(row)["accountId"], response.status, errors)


class RecordingPublisher:
    """Test double: remembers every publish; `fail_for` makes chosen aggregates fail."""

    def __init__(self) -> None:
        self.published: list[dict] = []
        self.fail_for: set[str] = set()

    def publish(self, row: dict) -> None:
        update = account_update(row)
        if update["accountId"] in self.fail_for:
            raise PublishError(update["accountId"], 500, ["injected failure"])
        self.published.append(update)

    def latest(self) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for update in self.published:
            out[update["accountId"]] = update
        return out
