"""Application service: what a Lambda handler calls. Command and caller in, result out; kernel
errors are translated into domain errors here, once.

The policy (`policy.authorize`) decides once the aggregate is loaded (its owner is in the state) and
before `decide`, so a refused command writes nothing. The kernel answers some commands without
calling `decide`: a repeated command id (the original result), a wrong `expectedVersion`, a reused
command id with another payload. Those answers carry the account's balance or version, so the
policy sees them too: a replay is checked against the state it was answered from, and the two
refusals load the account once more (only on that error path) before the caller hears them.
"""

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
from .queries import AccountAt
from .decide import decide, decide_transfer
from .errors import ConcurrencyConflictError, IdempotencyConflictError
from .policy import TRUSTED, Caller, Guarded, authorize, owner_of_new_account
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

    # `caller` defaults to TRUSTED for in-process callers (ops tools, benches, tests); the command
    # Lambda always passes the caller AppSync authenticated.
    def open_account(self, cmd: OpenAccount, ctx: CommandContext, caller: Caller = TRUSTED) -> CommandResult:
        account_id = cmd.account_id or derived_id("acc_", cmd.command_id)
        # An owner taken from the token is validated again: a `sub` must fit the rules an ownerId
        # argument fits (one given as an argument was validated with the command).
        owned = cmd if cmd.owner_id is not None else OpenAccount.model_validate(
            cmd.model_dump() | {"owner_id": owner_of_new_account(caller, None)})
        return self._single(account_id, owned, ctx, None, caller)

    def deposit(self, cmd: Deposit, ctx: CommandContext, caller: Caller = TRUSTED) -> CommandResult:
        return self._single(cmd.account_id, cmd, ctx, cmd.expected_version, caller)

    def withdraw(self, cmd: Withdraw, ctx: CommandContext, caller: Caller = TRUSTED) -> CommandResult:
        return self._single(cmd.account_id, cmd, ctx, cmd.expected_version, caller)

    def close_account(self, cmd: CloseAccount, ctx: CommandContext, caller: Caller = TRUSTED) -> CommandResult:
        return self._single(cmd.account_id, cmd, ctx, None, caller)

    def transfer(self, cmd: Transfer, ctx: CommandContext, caller: Caller = TRUSTED) -> TransferResult:
        transfer_id = cmd.transfer_id or derived_id("trf_", cmd.command_id)
        source, target = cmd.from_account_id, cmd.to_account_id

        def decide_both(states: dict[str, AccountState]) -> dict[str, list]:
            authorize(caller, cmd, _owners(states.values()))
            sent, received = decide_transfer(states[source], states[target], cmd, transfer_id)
            return {source: sent, target: received}

        with _translated(None), self._guarded(caller, cmd, (source,)):
            outcomes = self.accounts.execute_many(
                (source, target), command_id=cmd.command_id, payload_hash=fingerprint(cmd.payload()),
                decide=decide_both, ctx=ctx,
            )
        if any(o.replayed for o in outcomes.values()):
            authorize(caller, cmd, _owners(o.state for o in outcomes.values()))
        results = {aid: CommandResult(aid, o.version, o.summary, cmd.command_id) for aid, o in outcomes.items()}
        return TransferResult(transfer_id, results[source], results[target])

    def account_at(self, account_id: str, version: int | None = None, at: str | None = None,
                   caller: Caller = TRUSTED) -> AccountView | None:
        loaded = self.accounts.load_at(account_id, version=version, at=at)
        if loaded is None:
            return None
        s = loaded.state
        query = AccountAt.model_construct(id=account_id, version=version, at=at)   # validated by the caller
        authorize(caller, query, {s.account_id: s.owner_id})   # the owner never changes
        return AccountView(s.account_id, s.owner_id, s.currency, s.balance, s.status, loaded.version,
                           loaded.created_at, loaded.updated_at)

    def _single(self, account_id: str, cmd, ctx: CommandContext, expected_version: int | None,
                caller: Caller) -> CommandResult:
        def authorized_decide(state: AccountState) -> list:
            authorize(caller, cmd, {account_id: state.owner_id})
            return decide(state, cmd)

        with _translated(expected_version), self._guarded(caller, cmd, (account_id,)):
            outcome = self.accounts.execute(
                account_id, command_id=cmd.command_id, payload_hash=fingerprint(cmd.payload()),
                decide=authorized_decide, ctx=ctx, expected_version=expected_version,
            )
        if outcome.replayed:
            authorize(caller, cmd, {account_id: outcome.state.owner_id})
        return CommandResult(account_id, outcome.version, outcome.summary, cmd.command_id)

    @contextmanager
    def _guarded(self, caller: Caller, cmd: Guarded, account_ids: tuple[str, ...]) -> Iterator[None]:
        """The kernel's refusals that `decide` never saw reach only a caller the policy admits."""
        try:
            yield
        except (ExpectedVersionError, CommandReplayConflictError):
            authorize(caller, cmd, _owners(self.accounts.load(aid).state for aid in account_ids))
            raise


def _owners(states) -> dict[str, str]:
    return {state.account_id: state.owner_id for state in states}


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
