"""Concurrent writers on one account never lose an update (conditional appends + bounded retries).

The writers talk to moto's server through the local emulator, over HTTP, as Lambdas talk to
DynamoDB. (In-process `mock_aws` is not used here: its conditional writes are not atomic across
threads, so it can lose an update that real DynamoDB never would.)"""

from __future__ import annotations

import threading

import pytest

from tenantry.local.emulator import Emulator
from tests.aws import REGION, create_events_table
from lambdas.banking.commands import Deposit, OpenAccount
from lambdas.banking.service import BankingService
from lambdas.eventstore.dynamodb import DynamoDBEventStore
from lambdas.eventstore.envelope import CommandContext

pytestmark = [pytest.mark.functional, pytest.mark.lambda_side]

WRITERS, DEPOSITS_EACH = 6, 8


@pytest.fixture
def emulator(aws_credentials):
    with Emulator(region=REGION) as running:
        yield running


def test_threads_depositing_into_one_account_lose_nothing(emulator):
    # GIVEN one account and several writers, each with its own client and service (as Lambdas are)
    dynamodb = emulator.client("dynamodb")
    events_table = create_events_table(dynamodb, "concurrency-events")
    BankingService(DynamoDBEventStore(events_table, dynamodb), "acme").open_account(
        OpenAccount(accountId="hot", ownerId="o", currency="EUR", commandId="open"), CommandContext("t"))
    acknowledged: list[int] = []
    start = threading.Barrier(WRITERS)

    def writer(n: int) -> None:
        client = emulator.client("dynamodb")
        service = BankingService(DynamoDBEventStore(events_table, client), "acme", snapshot_interval=3)
        start.wait()
        for i in range(DEPOSITS_EACH):
            service.deposit(Deposit(accountId="hot", amount=n + 1, commandId=f"w{n}-{i}"), CommandContext(f"w{n}"))
            acknowledged.append(n + 1)

    # WHEN they all deposit at once
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # THEN every acknowledged deposit is in the balance, and the history has no gap
    view = BankingService(DynamoDBEventStore(events_table, dynamodb), "acme").account_at("hot")
    assert len(acknowledged) == WRITERS * DEPOSITS_EACH
    assert view.balance == sum(acknowledged)
    assert view.version == 1 + WRITERS * DEPOSITS_EACH
