"""Application service: what a Lambda handler calls. Command in, result out; kernel errors are
translated into domain errors here, once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from lambdas.eventstore.envelope import CommandContext
from lambdas.eventstore.errors import CommandReplayConflictError, ExpectedVersionError, RetriesExhaustedError
from lambdas.eventstore.hashing import fingerprint
from lambdas.eventstore.repository import DEFAULT_SNAPSHOT_INTERVAL, Repository
from lambdas.eventstore.store import EventStore

from .aggregate import ACCOUNT
from .commands import CloseAccount, Deposit, OpenAccount, Transfer, Withdraw
from .decide import decide, decide_transfer
from .errors import ConcurrencyConflictError, IdempotencyConflictError
from .results import AccountView, CommandResult, TransferResult
from .state import AccountState

def derived_id(prefix: str, command_id: str) -> str:
    """An id derived from the command id, so that a retried command targets the same aggregate."""
    return f"{prefix}{fingerprint(command_id, 24)}"


class BankingService:
    def __init__(self, store: EventStore, tenant_id: str, snapshot_interval: int = DEFAULT_SNAPSHOT_INTERVAL,
                 **repository_options) -> None:
        self.accounts: Repository[AccountState] = Repository(
            store, ACCOUNT, tenant_id=tenant_id, snapshot_interval=snapshot_interval, **repository_options
        )

    def open_account(self, cmd: OpenAccount, ctx: CommandContext) -> CommandResult:
        account_id = cmd.account_id or derived_id("acc_", cmd.command_id)
        return self._single(account_id, cmd, ctx, None)

    def deposit(self, cmd: Deposit, ctx: CommandContext) -> CommandResult:
        return self._single(cmd.account_id, cmd, ctx, cmd.expected_version)

    def withdraw(self, cmd: Withdraw, ctx: CommandContext) -> CommandResult:
        return self._single(cmd.account_id, cmd, ctx, cmd.expected_version)

    def close_account(self, cmd: CloseAccount, ctx: CommandContext) -> CommandResult:
        return self._single(cmd.account_id, cmd, ctx, None)

    def transfer(self, cmd: Transfer, ctx: CommandContext) -> TransferResult:
        transfer_id = cmd.transfer_id or derived_id("trf_", cmd.command_id)
        source, target = cmd.from_account_id, cmd.to_account_id

        def decide_both(states: dict[str, AccountState]) -> dict[str, list]:
            sent, received = decide_transfer(states[source], states[target], cmd, transfer_id)
            return {source: sent, target: received}

        with _translated(None):
            outcomes = self.accounts.execute_many(
                (source, target), command_id=cmd.command_id, payload_hash=fingerprint(cmd.payload()),
                decide=decide_both, ctx=ctx,
            )
        results = {aid: CommandResult(aid, o.version, o.summary, cmd.command_id) for aid, o in outcomes.items()}
        return TransferResult(transfer_id, results[source], results[target])

    def account_at(self, account_id: str, version: int | None = None, at: str | None = None) -> AccountView | None:
        loaded = self.accounts.load_at(account_id, version=version, at=at)
        if loaded is None:
            return None
        s = loaded.state
        return AccountView(s.account_id, s.owner_id, s.currency, s.balance, s.status, loaded.version,
                           loaded.created_at, loaded.updated_at)

    def _single(self, account_id: str, cmd, ctx: CommandContext, expected_version: int | None) -> CommandResult:
        with _translated(expected_version):
            outcome = self.accounts.execute(
                account_id, command_id=cmd.command_id, payload_hash=fingerprint(cmd.payload()),
                decide=lambda state: decide(state, cmd), ctx=ctx, expected_version=expected_version,
            )
        return CommandResult(account_id, outcome.version, outcome.summary, cmd.command_id)


@contextmanager
def _translated(expected_version: int | None) -> Iterator[None]:
    try:
        yield
    except ExpectedVersionError as exc:
        raise ConcurrencyConflictError(exc.aggregate_id, exc.expected, exc.actual) from exc
    except RetriesExhaustedError as exc:
        raise ConcurrencyConflictError(", ".join(exc.aggregate_ids), expected_version, None) from exc
    except CommandReplayConflictError as exc:
        raise IdempotencyConflictError(exc.command_id) from exc
