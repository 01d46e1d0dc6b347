"""When an AppSync API key should expire: one pure function, used both where the key is declared
(`tenantry.components.api`) and where it is renewed (`lambdas.handlers.key_renewal`).

AppSync accepts an `expires` between 1 and 365 days after the create or update call, rounded down
to the hour (CreateApiKey/UpdateApiKey: "rounded down to the nearest hour"). So the value is a whole
hour, never earlier than `now + days` (plus a margin for the call that follows the computation, so
a 1-day key is still a day long when AppSync receives it), and never later than `now + 365 days`,
which AppSync would refuse.
"""

from __future__ import annotations

import datetime as dt

MIN_DAYS, MAX_DAYS = 1, 365
HOUR = dt.timedelta(hours=1)
# Time allowed between computing the expiry and AppSync receiving it (a `pulumi up` evaluates the
# program before it creates the key). Rounded up with the rest, so a key lives days + 1..2 hours.
CALL_MARGIN = dt.timedelta(hours=1)


class ApiKeyLifetimeError(ValueError):
    """A lifetime AppSync refuses; carries the days asked for and the allowed range."""

    def __init__(self, days: int) -> None:
        self.days, self.allowed = days, (MIN_DAYS, MAX_DAYS)
        super().__init__(f"API key lifetime must be {MIN_DAYS}..{MAX_DAYS} days, got {days}")


def _floor_hour(t: dt.datetime) -> dt.datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def _ceil_hour(t: dt.datetime) -> dt.datetime:
    floor = _floor_hour(t)
    return floor if floor == t else floor + HOUR


def api_key_expiry(days: int, now: dt.datetime) -> dt.datetime:
    """The whole UTC hour at which a key made or updated at `now` expires, `days` later."""
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise ApiKeyLifetimeError(days)
    now = now.astimezone(dt.UTC)
    latest = _floor_hour(now + dt.timedelta(days=MAX_DAYS))
    return min(_ceil_hour(now + dt.timedelta(days=days) + CALL_MARGIN), latest)


def rfc3339(t: dt.datetime) -> str:
    """The form Pulumi's `aws.appsync.ApiKey.expires` takes."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
