"""Property (DESIGN section 6): for any delivery schedule with duplicates, redeliveries of earlier
batches, crashes mid-batch and reordering across aggregates, the read model converges to the fold
of the event store. Same runtime code as the projector, in-memory adapters for speed."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdas.banking.commands import Deposit, OpenAccount, Transfer, Withdraw
from lambdas.banking.errors import DomainError
from lambdas.banking.projections import ACCOUNTS
from lambdas.banking.service import BankingService
from lambdas.eventstore.envelope import CommandContext
from lambdas.eventstore.memory import InMemoryEventStore
from lambdas.eventstore.projection import InMemoryReadModel, ProjectionRuntime, fold_store
from lambdas.handlers.appsync_publisher import RecordingPublisher

pytestmark = [pytest.mark.unit, pytest.mark.lambda_side]
CTX = CommandContext(actor="property")
ACCOUNT_IDS = ("a", "b", "c")


class CrashError(BaseException):
    """The Lambda container died: nothing after this point of the batch happened (a BaseException,
    so the runtime's per-aggregate isolation cannot swallow it)."""


class CrashingReadModel(InMemoryReadModel):
    """Commits normally until `crash_after` more commits have happened, then dies."""

    def __init__(self) -> None:
        super().__init__()
        self.crash_after: int | None = None

    def commit(self, commit) -> None:
        if self.crash_after is not None:
            if self.crash_after == 0:
                raise CrashError()
            self.crash_after -= 1
        super().commit(commit)


operations = st.lists(st.tuples(st.sampled_from(("deposit", "withdraw", "transfer")),
                                st.sampled_from(ACCOUNT_IDS), st.sampled_from(ACCOUNT_IDS),
                                st.integers(1, 500)), max_size=25)


def build_history(ops) -> tuple[InMemoryEventStore, list]:
    store = InMemoryEventStore()
    bank = BankingService(store, "acme", snapshot_interval=3)
    for aid in ACCOUNT_IDS:
        bank.open_account(OpenAccount(account_id=aid, owner_id="o", currency="EUR", initial_deposit=200,
                                      command_id=f"open-{aid}"), CTX)
    for n, (kind, src, dst, amount) in enumerate(ops):
        try:
            if kind == "deposit":
                bank.deposit(Deposit(account_id=src, amount=amount, command_id=f"c{n}"), CTX)
            elif kind == "withdraw":
                bank.withdraw(Withdraw(account_id=src, amount=amount, command_id=f"c{n}"), CTX)
            elif src != dst:
                bank.transfer(Transfer(from_account_id=src, to_account_id=dst, amount=amount, command_id=f"c{n}"), CTX)
        except DomainError:
            pass
    stream = [s.envelope for aid in ACCOUNT_IDS for s in store.read(aid)]
    return store, stream


@st.composite
def scenario(draw):
    store, stream = build_history(draw(operations))
    n = len(stream)
    # A delivery: a batch of stream positions in any order, with duplicates; optionally a crash
    # after k commits, or a failing publish, in which case the batch is redelivered later.
    batches = draw(st.lists(st.tuples(
        st.lists(st.integers(0, n - 1), min_size=1, max_size=12),
        st.one_of(st.none(), st.integers(0, 2)),
        st.sets(st.sampled_from(ACCOUNT_IDS), max_size=1),
    ), max_size=12))
    return store, stream, batches


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_read_model_converges_to_the_fold_of_the_event_store(case):
    # GIVEN
    store, stream, batches = case
    read_model, publisher = CrashingReadModel(), RecordingPublisher()
    runtime = ProjectionRuntime(ACCOUNTS, read_model, store, publisher)
    pending: list[list] = []                              # failed batches, redelivered later
    # WHEN the schedule is delivered, failures and crashes included
    for positions, crash_after, failing_publish in batches:
        batch = [stream[i] for i in positions]
        read_model.crash_after, publisher.fail_for = crash_after, set(failing_publish)
        try:
            outcome = runtime.project(batch)
        except CrashError:
            pending.append(batch)
            continue
        if outcome.failed:
            pending.append([e for e in batch if e.aggregate_id in outcome.failed])
    read_model.crash_after, publisher.fail_for = None, set()
    for batch in reversed(pending):                       # redeliveries, out of order
        assert runtime.project(batch).failed == {}
    # ... and finally the newest event of each aggregate arrives once (anything older may be lost)
    heads = {e.aggregate_id: e for e in stream}
    assert runtime.project(list(heads.values())).failed == {}
    # THEN
    assert (read_model.rows, read_model.entries) == fold_store(ACCOUNTS, store, ACCOUNT_IDS)
    assert publisher.latest() == {aid: {"accountId": aid, "balance": r["balance"], "version": r["version"],
                                        "status": r["status"], "updatedAt": r["updatedAt"], "ownerId": r["ownerId"]}
                                  for aid, r in read_model.rows.items()}
