"""The local platform under the schedules that broke it: many clients at once on both tenants,
subscribers listening while the projector publishes into the requests, malformed requests in the
mix, then SIGINT while requests are still in flight.

One `tenantry dev` of its own (it is stopped at the end). Bounded: 24 clients x 30 operations,
10 subscribers, well under a minute on two cores. What is asserted:
- the server never died, and it exits 0 within the stop deadline after SIGINT under load;
- no fault: every answer was an accepted command, a typed rejection, a query result, or the typed
  error its malformed request deserves (never an untyped error, an InternalFailure or an HTTP 5xx);
- no lost update: each account's accepted versions are exactly the ones after its opening, once
  each, and its final balance (read model and event store) is the fold of the accepted results;
- each subscriber's versions never decrease and end at its account's final version.
Stream records are trimmed after every batch the mappings handled (not every 100 records), so
trims race the writes on every schedule the load makes.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

import pytest

from tests.e2e import documents as doc
from tests.e2e.load import (MALFORMED, Client, Subscriber, Workload, final_version, lost_updates,
                            open_accounts)
from tests.e2e.support import DevServer, exit_description, free_port, start_dev

pytestmark = pytest.mark.e2e

CLIENTS_PER_TENANT = 12
OPERATIONS_PER_CLIENT = 30
ACCOUNTS_PER_TENANT = 6
SUBSCRIBERS_PER_TENANT = 5
CONVERGE_S = 60          # deadlines so a broken pipeline fails instead of hanging; not perf checks
STOP_S = 20


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> DevServer:
    # Stream retention trims after every handled batch, racing the writes (tenantry.local.retention)
    server = start_dev(tmp_path_factory.mktemp("dev"), free_port(), env={"TENANTRY_RETENTION_TRIM_EVERY": "1"})
    yield server
    if server.process.poll() is None:
        server.process.kill()


async def _converged(accounts, observed, endpoints) -> list[str]:
    """Wait for every read model to reach its account's final version; what differs from the fold."""
    problems, deadline = [], time.monotonic() + CONVERGE_S
    async with contextlib.AsyncExitStack() as stack:
        clients = {name: await stack.enter_async_context(Client(endpoint)) for name, endpoint in endpoints.items()}
        for account in accounts:
            want, client = final_version(account, observed), clients[account.tenant]
            while True:
                _, body = await client.call(doc.GET_ACCOUNT, {"id": account.id})
                row = (body.get("data") or {}).get("account")
                if row and row["version"] >= want or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.1)
            _, body = await client.call(doc.ACCOUNT_AT, {"id": account.id})
            folded = body["data"]["accountAt"]
            seen = (row and (row["version"], row["balance"]), (folded["version"], folded["balance"]))
            if seen != ((want, account.expected_balance),) * 2:
                problems.append(f"{account.tenant}/{account.id}: read model and store {seen}, "
                                f"expected {(want, account.expected_balance)}")
    return problems


async def _scenario(server: DevServer) -> dict:
    endpoints = server.tenants
    accounts = [a for e in endpoints.values() for a in await open_accounts(e, ACCOUNTS_PER_TENANT)]
    workload = Workload(accounts, seed=20261201)
    subscribers = [Subscriber(endpoints[a.tenant], a) for tenant in endpoints
                   for a in [x for x in accounts if x.tenant == tenant][:SUBSCRIBERS_PER_TENANT]]
    acks = [asyncio.Event() for _ in subscribers]
    listening = [asyncio.create_task(s.run(ack)) for s, ack in zip(subscribers, acks)]
    await asyncio.gather(*(ack.wait() for ack in acks))
    # WHEN 24 clients run their mixes on both tenants at once
    await asyncio.gather(*(workload.client(endpoints[name], OPERATIONS_PER_CLIENT)
                           for name in endpoints for _ in range(CLIENTS_PER_TENANT)))
    server.assert_alive()
    converged = await _converged(accounts, workload.observed, endpoints)
    reached = await asyncio.gather(*(s.until(final_version(s.account, workload.observed), CONVERGE_S)
                                     for s in subscribers))
    for task in listening:
        task.cancel()
    await asyncio.gather(*listening, return_exceptions=True)
    return {"accounts": accounts, "workload": workload, "subscribers": subscribers, "reached": reached,
            "converged": converged}


async def _sigint_under_load(server: DevServer) -> int:
    """SIGINT while a burst of requests is in flight; the exit code."""
    endpoint = server.tenants["acme"]
    accounts = await open_accounts(endpoint, 2)
    burst = Workload(accounts, seed=7, malformed_share=0.0)
    in_flight = [asyncio.create_task(burst.client(endpoint, 50)) for _ in range(8)]
    await asyncio.sleep(1.0)
    server.process.send_signal(signal.SIGINT)
    started = time.monotonic()
    while server.process.poll() is None and time.monotonic() - started < STOP_S:
        await asyncio.sleep(0.1)
    for task in in_flight:
        task.cancel()
    await asyncio.gather(*in_flight, return_exceptions=True)
    return server.process.poll()


@pytest.fixture(scope="module")
def outcome(platform) -> dict:
    try:
        result = asyncio.run(_scenario(platform))
    except Exception:
        platform.assert_alive(wait=10)   # a dead server is the story, not the client error it caused
        raise
    result["exit_code"] = asyncio.run(_sigint_under_load(platform))
    return result


def test_nothing_but_typed_answers_came_back(outcome, platform):
    faults = outcome["workload"].observed.faults
    assert not faults, f"{len(faults)} faults, first ones:\n" + "\n".join(faults[:15])


def test_every_kind_of_malformed_request_was_sent_and_answered_with_its_type(outcome):
    answered = outcome["workload"].observed.malformed
    assert set(answered) == {case.name for case in MALFORMED}


def test_no_update_was_lost(outcome):
    observed = outcome["workload"].observed
    assert observed.commands > 0 and not lost_updates(outcome["accounts"], observed)
    assert not outcome["converged"], "\n".join(outcome["converged"])


def test_subscribers_saw_versions_only_go_up_to_the_final_one(outcome):
    for subscriber, reached in zip(outcome["subscribers"], outcome["reached"]):
        versions = subscriber.versions
        assert not subscriber.errors, subscriber.errors
        assert versions == sorted(versions), f"{subscriber.account.id} went backwards: {versions}"
        assert reached, f"{subscriber.account.id} stopped at {versions[-1:]}"


def test_the_server_never_died_and_sigint_under_load_stops_it_with_exit_0(outcome, platform):
    code = outcome["exit_code"]
    tail = "\n".join(platform.output[-40:])
    assert code == 0, f"tenantry dev: {exit_description(code) if code is not None else 'still running'}\n{tail}"
    assert "stopped" in platform.output and not any("did not stop within" in line for line in platform.output)
