"""Read-model projections of the account events: pure folds into the `accounts` row and `ledger`
entries. Field names are `readmodel_keys` names (the GraphQL field names of DESIGN section 3), so
the resolvers return the stored items as-is and the projector publishes the row's subset.

No I/O, no boto3: the projection runtime (`lambdas.eventstore.projection`) does the rest.
"""

from __future__ import annotations

from typing import Any

from lambdas.eventstore.envelope import EventEnvelope
from lambdas.eventstore.projection import Projection

from . import readmodel_keys as rk
from .events import (
    AccountClosed,
    AccountOpened,
    MoneyDeposited,
    MoneyWithdrawn,
    TransferReceived,
    TransferSent,
    registry,
)
from .state import CLOSED, OPEN

Row = dict[str, Any]

# AccountUpdate (DESIGN section 3): what `publishAccountUpdate` carries and selects. All but
# `accountId` (the row's key) are row attributes of the same name. `ownerId` is what
# `onMyAccountsUpdated` filters on.
ACCOUNT_UPDATE_FIELDS = ("accountId", "balance", "version", "status", "updatedAt", "ownerId")
_ROW_ATTRIBUTE = {field: field for field in ACCOUNT_UPDATE_FIELDS} | {"accountId": rk.ACCOUNTS_PARTITION_KEY}


def apply(row: Row | None, envelope: EventEnvelope) -> tuple[Row, list[Row]]:
    """Fold one envelope into the account row; return the new row and its ledger entry."""
    event = registry.decode(envelope.aggregate_id, envelope.version, envelope.event_type,
                            envelope.schema_version, envelope.data)
    at = envelope.occurred_at
    if isinstance(event, AccountOpened):
        row = {"id": event.account_id, "ownerId": event.owner_id, "currency": event.currency,
               "balance": event.initial_deposit, "status": OPEN, "openedAt": at}
        kind, amount, counterparty = "OPENED", event.initial_deposit, None
    else:
        if row is None:
            raise ValueError(f"{envelope.aggregate_id} v{envelope.version}: {envelope.event_type} before AccountOpened")
        row = dict(row)
        match event:
            case MoneyDeposited(amount=amount):
                kind, counterparty = "DEPOSIT", None
                row["balance"] += amount
            case MoneyWithdrawn(amount=amount):
                kind, counterparty = "WITHDRAWAL", None
                row["balance"] -= amount
            case TransferReceived(amount=amount, from_account_id=counterparty):
                kind = "TRANSFER_IN"
                row["balance"] += amount
            case TransferSent(amount=amount, to_account_id=counterparty):
                kind = "TRANSFER_OUT"
                row["balance"] -= amount
            case AccountClosed():
                kind, amount, counterparty = "CLOSED", 0, None
                row["status"] = CLOSED
            case _:
                raise TypeError(f"not an account event: {event!r}")
    row["version"] = envelope.version
    row["updatedAt"] = at
    entry: Row = {"accountId": envelope.aggregate_id, "version": envelope.version, "kind": kind,
                  "amount": amount, "balanceAfter": row["balance"], "occurredAt": at,
                  "commandId": envelope.command_id, rk.LEDGER_OWNER: row[rk.ACCOUNTS_BY_OWNER_PARTITION_KEY]}
    if counterparty is not None:
        entry["counterpartyAccountId"] = counterparty
    return row, [entry]


def account_update(row: Row) -> Row:
    """The `AccountUpdateInput` of a row (the subscription payload)."""
    return {field: row[attribute] for field, attribute in _ROW_ATTRIBUTE.items()}


ACCOUNTS = Projection(name="accounts", apply=apply, version_field="version")
