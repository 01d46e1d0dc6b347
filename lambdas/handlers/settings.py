"""Environment contract between the Pulumi component that declares a function and the code that runs
in it. The component sets exactly these variables; the handlers read them only through `Settings`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from lambdas.eventstore.repository import DEFAULT_SNAPSHOT_INTERVAL

TENANT_ID = "TENANT_ID"
EVENTS_TABLE = "EVENTS_TABLE"
ACCOUNTS_TABLE = "ACCOUNTS_TABLE"
LEDGER_TABLE = "LEDGER_TABLE"
EVENT_STREAM = "EVENT_STREAM"          # Kinesis stream name
ARCHIVE_BUCKET = "ARCHIVE_BUCKET"      # snapshot spill + event archive
GRAPHQL_URL = "GRAPHQL_URL"            # projector -> publishAccountUpdate (SigV4)
SNAPSHOT_INTERVAL = "SNAPSHOT_INTERVAL"
API_ID = "API_ID"                      # key renewal: the tenant's AppSync API ...
API_KEY_ID = "API_KEY_ID"              # ... the key it extends ...
API_KEY_EXPIRES_DAYS = "API_KEY_EXPIRES_DAYS"   # ... and for how long

ALL = (TENANT_ID, EVENTS_TABLE, ACCOUNTS_TABLE, LEDGER_TABLE, EVENT_STREAM, ARCHIVE_BUCKET,
       GRAPHQL_URL, SNAPSHOT_INTERVAL, API_ID, API_KEY_ID, API_KEY_EXPIRES_DAYS)


@dataclass(frozen=True)
class Settings:
    tenant_id: str
    events_table: str
    accounts_table: str = ""
    ledger_table: str = ""
    event_stream: str = ""
    archive_bucket: str = ""
    graphql_url: str = ""
    snapshot_interval: int = DEFAULT_SNAPSHOT_INTERVAL

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        return cls(
            tenant_id=env[TENANT_ID],
            events_table=env[EVENTS_TABLE],
            accounts_table=env.get(ACCOUNTS_TABLE, ""),
            ledger_table=env.get(LEDGER_TABLE, ""),
            event_stream=env.get(EVENT_STREAM, ""),
            archive_bucket=env.get(ARCHIVE_BUCKET, ""),
            graphql_url=env.get(GRAPHQL_URL, ""),
            snapshot_interval=int(env.get(SNAPSHOT_INTERVAL, DEFAULT_SNAPSHOT_INTERVAL)),
        )


@dataclass(frozen=True)
class KeyRenewalSettings:
    """What the key renewal function reads (`lambdas.handlers.key_renewal`)."""

    tenant_id: str
    api_id: str
    api_key_id: str
    expires_days: int

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "KeyRenewalSettings":
        env = os.environ if env is None else env
        return cls(env[TENANT_ID], env[API_ID], env[API_KEY_ID], int(env[API_KEY_EXPIRES_DAYS]))
