"""Scheduled (EventBridge Scheduler): extends the tenant's AppSync API key before it lapses.

A key is only extended by an UpdateApiKey; without this, a tenant nobody deploys loses its key
after `api_key_expires_days`. The new expiry comes from `lambdas.apikeys.api_key_expiry`, the same
function that declares the key. Emits `ApiKeyDaysLeft` (the renewed key's remaining days).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from lambdas.apikeys import api_key_expiry, rfc3339
from lambdas.handlers import telemetry
from lambdas.handlers.settings import KeyRenewalSettings
from lambdas.handlers.tracing import LazyTracer

logger = Logger(service="key-renewal")
tracer = LazyTracer(service="key-renewal")   # the X-Ray SDK is imported at the first invocation
metrics = telemetry.handler_metrics("key-renewal")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class KeyRenewer:
    def __init__(self, settings: KeyRenewalSettings, client: Any = None,
                 clock: Callable[[], dt.datetime] = _utc_now) -> None:
        self.settings, self.clock = settings, clock
        self.client = client or boto3.client("appsync")

    def renew(self) -> dt.datetime:
        """Extends the key to `expires_days` from now; returns the new expiry."""
        s = self.settings
        expires = api_key_expiry(s.expires_days, self.clock())
        self.client.update_api_key(apiId=s.api_id, id=s.api_key_id, expires=int(expires.timestamp()))
        return expires


@lru_cache(maxsize=1)
def renewer() -> KeyRenewer:
    return KeyRenewer(KeyRenewalSettings.from_env())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: Any) -> dict:
    r = renewer()
    logger.append_keys(tenant_id=r.settings.tenant_id, caller="scheduler")
    expires = r.renew()     # a failure raises: the Errors alarm, and the Scheduler's retries
    days_left = (expires - r.clock()).total_seconds() / 86_400
    logger.info("api key renewed", extra={"api_id": r.settings.api_id, "expires": rfc3339(expires)})
    telemetry.count(metrics, telemetry.API_KEY_DAYS_LEFT, round(days_left, 2))
    return {"expires": rfc3339(expires)}
