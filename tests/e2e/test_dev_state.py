"""State that survives a restart: `tenantry dev` keeps each tenant's event log and rebuilds the read
models from it at start, so every balance, ledger and past state answers the same after Ctrl-C and
after `kill -9`; `--fresh` starts empty; a damaged log is reported line by line and the run starts.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from pathlib import Path

import pytest

from tests.e2e import documents as doc
from tests.e2e.load import Client
from tests.e2e.support import TENANTS, DevServer, TenantEndpoint, eventually, free_port, start_dev, stop_dev
from tests.state_history import history, write_log

pytestmark = pytest.mark.e2e

COMMANDS = 1_000
ACCOUNTS_PER_TENANT = 12
CLIENTS_PER_TENANT = 4


def _command(rng: random.Random, accounts: list[str]) -> tuple[str, dict]:
    kind = rng.choice(("deposit", "deposit", "withdraw", "transfer", "transfer"))
    source, target = rng.sample(accounts, 2)
    amount, command_id = rng.randint(1, 900), uuid.uuid4().hex
    if kind == "transfer":
        return doc.TRANSFER, {"input": {"fromAccountId": source, "toAccountId": target, "amount": amount,
                                        "commandId": command_id}}
    return (doc.DEPOSIT if kind == "deposit" else doc.WITHDRAW), {"input": {
        "accountId": source, "amount": amount, "commandId": command_id}}


async def _run_commands(endpoint: TenantEndpoint, accounts: list[str], count: int, seed: int) -> dict[str, int]:
    """Opens, then `count` deposits, withdrawals and transfers from a few clients; the newest
    version each account reached (refused commands write nothing and are part of the mix)."""
    versions: dict[str, int] = {}

    def seen(result: dict) -> None:
        versions[result["accountId"]] = max(versions.get(result["accountId"], 0), result["version"])

    async with Client(endpoint) as client:
        for aid in accounts:
            _, body = await client.call(doc.OPEN, {"input": {"accountId": aid, "ownerId": f"owner-{aid[-1]}",
                                                             "currency": "EUR", "initialDeposit": 5_000,
                                                             "commandId": f"open-{aid}"}})
            assert body.get("data") and body["data"]["openAccount"], body
            seen(body["data"]["openAccount"])

    async def one_client(n: int) -> None:
        rng = random.Random(seed * 100 + n)
        async with Client(endpoint) as client:
            for _ in range(count // CLIENTS_PER_TENANT):
                _, body = await client.call(*_command(rng, accounts))
                for result in (body.get("data") or {}).values():
                    if result:
                        for one in (result["from"], result["to"]) if "transferId" in result else (result,):
                            seen(one)

    await asyncio.gather(*(one_client(n) for n in range(CLIENTS_PER_TENANT)))
    return versions


async def _answers(endpoint: TenantEndpoint, accounts: list[str]) -> dict:
    """What the API says about every account: its row, every ledger entry, its state at each
    version (time travel), and each owner's account list."""
    out: dict = {}
    async with Client(endpoint) as client:
        for aid in accounts:
            _, account = await client.call(doc.GET_ACCOUNT, {"id": aid})
            entries, token = [], None
            while True:
                _, page = await client.call(doc.LEDGER, {"accountId": aid, "limit": 100, "nextToken": token})
                entries += page["data"]["ledger"]["items"]
                token = page["data"]["ledger"]["nextToken"]
                if not token:
                    break
            assert account.get("data") and account["data"]["account"], (aid, account)
            version = account["data"]["account"]["version"]
            past = [(await client.call(doc.ACCOUNT_AT, {"id": aid, "version": v}))[1]["data"]["accountAt"]
                    for v in sorted({1, max(1, version // 2), version})]
            out[aid] = {"account": account["data"]["account"], "ledger": entries, "at": past}
        for owner in sorted({f"owner-{aid[-1]}" for aid in accounts}):
            _, page = await client.call(doc.ACCOUNTS, {"ownerId": owner, "limit": 100})
            out[owner] = sorted(item["id"] for item in page["data"]["accounts"]["items"])
    return out


def _projected(endpoint: TenantEndpoint, versions: dict[str, int]) -> None:
    async def behind() -> list[str]:
        async with Client(endpoint) as client:
            rows = [(aid, (await client.call(doc.GET_ACCOUNT, {"id": aid}))[1]["data"]["account"])
                    for aid in versions]
        return [aid for aid, row in rows if row is None or row["version"] < versions[aid]]

    eventually(lambda: asyncio.run(behind()), lambda late: not late, timeout=120)


def _snapshot(server: DevServer, accounts: dict[str, list[str]]) -> dict:
    return {name: asyncio.run(_answers(server.tenants[name], accounts[name])) for name in TENANTS}


async def _as_alice(endpoint: TenantEndpoint, query: str, variables: dict) -> dict:
    async with Client(endpoint, user="alice") as client:
        return (await client.call(query, variables))[1]


def _alice_opens(server: DevServer, name: str) -> str:
    """An account alice opens for herself (owned by her token's sub)."""
    body = asyncio.run(_as_alice(server.tenants[name], doc.OPEN, {"input": {
        "accountId": f"{name}-alice", "ownerId": server.tenants[name].sub("alice"), "currency": "EUR",
        "commandId": f"open-{name}-alice"}}))
    assert body.get("data"), body
    return body["data"]["openAccount"]["accountId"]


def _alice_reads(server: DevServer, name: str, account_id: str) -> dict | None:
    return asyncio.run(_as_alice(server.tenants[name], doc.GET_ACCOUNT, {"id": account_id}))["data"]["account"]


def test_every_balance_ledger_and_past_state_survives_ctrl_c_and_kill_9(tmp_path):
    # GIVEN tenantry dev with its state in tmp_path, and 1,000 commands across both tenants
    state = tmp_path / "state"
    accounts = {name: [f"{name}-acc-{n}" for n in range(ACCOUNTS_PER_TENANT)] for name in TENANTS}
    server = start_dev(tmp_path / "run1", free_port(), state_dir=state)
    try:
        for seed, name in enumerate(TENANTS):
            versions = asyncio.run(_run_commands(server.tenants[name], accounts[name], COMMANDS // len(TENANTS), seed))
            _projected(server.tenants[name], versions)
        alices = {name: _alice_opens(server, name) for name in TENANTS}
        subs = {name: server.tenants[name].sub("alice") for name in TENANTS}
        before = _snapshot(server, accounts)
        assert sum(len(a["ledger"]) for t in before.values() for a in t.values() if "ledger" in a) > COMMANDS // 2
    finally:
        assert stop_dev(server) == 0
    # WHEN it restarts after Ctrl-C THEN every answer is the same
    server = start_dev(tmp_path / "run2", free_port(), state_dir=state)
    try:
        assert _snapshot(server, accounts) == before
        # AND alice is still alice (same sub, new password): her account is still hers
        assert {name: server.tenants[name].sub("alice") for name in TENANTS} == subs
        for name in TENANTS:
            assert _alice_reads(server, name, alices[name])["ownerId"] == subs[name]
        restored = [line for line in server.output if "restore:" in line]
        assert all("ok" in line.split()[-1] for line in restored), restored
        # AND a deposit acknowledged right before `kill -9` is kept too
        acked = {}
        for name in TENANTS:
            async def deposit(endpoint: TenantEndpoint = server.tenants[name], aid: str = accounts[name][0]) -> dict:
                async with Client(endpoint) as client:
                    _, body = await client.call(doc.DEPOSIT, {"input": {"accountId": aid, "amount": 7,
                                                                        "commandId": uuid.uuid4().hex}})
                return body["data"]["deposit"]
            acked[name] = asyncio.run(deposit())
    finally:
        server.process.kill()
        server.process.wait()
    server = start_dev(tmp_path / "run3", free_port(), state_dir=state)
    try:
        after = _snapshot(server, accounts)
        assert all(_alice_reads(server, name, alices[name])["ownerId"] == subs[name] for name in TENANTS)
    finally:
        assert stop_dev(server) == 0
    for name in TENANTS:
        first = accounts[name][0]
        kept = after[name].pop(first)
        assert after[name] == {key: value for key, value in before[name].items() if key != first}
        assert (kept["account"]["version"], kept["account"]["balance"]) == (acked[name]["version"], acked[name]["balance"])
        assert kept["ledger"][:-1] == before[name][first]["ledger"]
        assert kept["ledger"][-1]["commandId"] == acked[name]["commandId"]


def test_fresh_says_it_discards_the_kept_state_and_starts_empty(tmp_path):
    # GIVEN a kept log of acme with an account
    state = tmp_path / "state"
    write_log(state / "acme" / "events.jsonl", "acme", history("acme", 10, accounts=2))
    # WHEN tenantry dev starts with --fresh
    server = start_dev(tmp_path, free_port(), "--tenant", "acme", "--fresh", state_dir=state)
    try:
        async def account() -> dict:
            async with Client(server.tenants["acme"]) as client:
                return (await client.call(doc.GET_ACCOUNT, {"id": "acc-0"}))[1]
        # THEN it said so before ready, and the account is gone
        before_ready = server.output[: server.output.index("ready")]
        assert any("--fresh: discarding the kept state of acme" in line for line in before_ready)
        assert asyncio.run(account())["data"]["account"] is None
    finally:
        assert stop_dev(server) == 0
    assert (state / "acme" / "events.jsonl").read_bytes().count(b"\n") == 1     # the header only


def test_a_damaged_log_names_file_and_line_keeps_the_good_events_and_starts(tmp_path):
    # GIVEN acme's log with a garbage line, an unknown event type and a truncated last line
    state = tmp_path / "state"
    items = history("acme", 40, accounts=4)
    log = write_log(state / "acme" / "events.jsonl", "acme", items)
    lines = log.read_bytes().splitlines(keepends=True)
    lines[10] = b"garbage\n"
    lines[20] = lines[20].replace(b'"e":{"S":"', b'"e":{"S":"Unknown')
    lines[-1] = lines[-1][:30]
    log.write_bytes(b"".join(lines))
    # WHEN tenantry dev starts (JSON lines)
    server = start_dev(tmp_path, free_port(), "--tenant", "acme", "--log-format", "json", state_dir=state)
    try:
        events = [json.loads(line) for line in server.output if line.startswith("{")]
    finally:
        assert stop_dev(server) == 0
    # THEN each bad line is named with the file, the restore step says how much came back, and it started
    warnings = [e["message"] for e in events if e.get("logger") == "tenantry.local.state"]
    for line in (11, 21, 41):
        assert any(f"{log} line {line}:" in w for w in warnings), warnings
    assert any("held back" in w for w in warnings) and any("moved, unchanged" in w for w in warnings)
    restore = next(e for e in events if e.get("kind") == "startup" and e["step"] == "restore")
    assert restore["problems"] == 3 and 0 < restore["events"] < 40
    assert len(list((state / "acme").glob("events.damaged-*.jsonl"))) == 1
    assert "ready" in server.output
