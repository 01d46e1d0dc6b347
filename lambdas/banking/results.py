"""What the application service returns; `to_graphql()` gives the GraphQL shape of DESIGN §3."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .readmodel_keys import ACCOUNT_FIELDS


@dataclass(frozen=True, slots=True)
class CommandResult:
    account_id: str
    version: int
    balance: int
    command_id: str

    def to_graphql(self) -> dict[str, Any]:
        return {"accountId": self.account_id, "version": self.version, "balance": self.balance, "commandId": self.command_id}


@dataclass(frozen=True, slots=True)
class TransferResult:
    transfer_id: str
    from_: CommandResult
    to: CommandResult

    def to_graphql(self) -> dict[str, Any]:
        return {"transferId": self.transfer_id, "from": self.from_.to_graphql(), "to": self.to.to_graphql()}


@dataclass(frozen=True, slots=True)
class AccountView:
    id: str
    owner_id: str
    currency: str
    balance: int
    status: str
    version: int
    opened_at: str
    updated_at: str

    def to_graphql(self) -> dict[str, Any]:
        return {name: getattr(self, attribute) for name, attribute in _VIEW_FIELDS}


# GraphQL `Account` field -> AccountView attribute: the same fields in the same order.
_VIEW_FIELDS = tuple(zip(ACCOUNT_FIELDS, (f.name for f in fields(AccountView)), strict=True))
