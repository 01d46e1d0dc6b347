"""A mixed, concurrent workload against a running `tenantry dev`, and what it observed.

Used by the concurrency suite (tests/e2e/test_concurrency.py) and by `python -m bench.e2e`. Each
client is its own HTTP connection and runs a seeded random mix: deposits, withdrawals (some too
large), transfers, every query, and malformed requests whose typed answer is known in advance.
Everything that comes back is classified: an accepted command (its version and balance), an
expected typed error, or a fault (an untyped or internal error, an HTTP 5xx, a dropped connection)
which the suite asserts never happens.
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.e2e import documents as doc
from tests.e2e.support import TenantEndpoint, auth_headers

REQUEST_TIMEOUT_S = 60
COMMAND_REJECTIONS = {"InsufficientFunds", "ConcurrencyConflict"}


@dataclass(frozen=True)
class Malformed:
    """A request no server should execute, and the error AppSync gives for it."""
    name: str
    status: int
    error_type: str
    body: Callable[[str], bytes]        # account id -> request body
    headers: dict = field(default_factory=dict)


def _graphql(query: str, variables: Any = None) -> bytes:
    return json.dumps({"query": query, "variables": variables}).encode()


MALFORMED = (
    Malformed("variables as a list", 400, "MalformedHttpRequestException",
              lambda a: json.dumps({"query": doc.GET_ACCOUNT, "variables": [1, 2]}).encode()),
    Malformed("variables nested 100,000 deep", 400, "MalformedHttpRequestException",
              lambda a: b'{"query": "{ account(id: \\"a\\") { id } }", "variables": {"v": '
                        + b"[" * 100_000 + b"]" * 100_000 + b"}}"),
    Malformed("not JSON", 400, "MalformedHttpRequestException", lambda a: b"{query"),
    Malformed("unknown field", 200, "ValidationError", lambda a: _graphql("{ account(id: \"x\") { nope } }")),
    Malformed("malformed id", 200, "ValidationError", lambda a: _graphql(doc.GET_ACCOUNT, {"id": "bad id!"})),
    Malformed("zero amount", 200, "ValidationError", lambda a: _graphql(doc.DEPOSIT, {"input": {
        "accountId": a, "amount": 0, "commandId": uuid.uuid4().hex}})),
    Malformed("garbage nextToken on accounts", 200, "ValidationError",
              lambda a: _graphql(doc.ACCOUNTS, {"ownerId": "o", "nextToken": "garbage"})),
    Malformed("garbage nextToken on ledger", 200, "ValidationError",
              lambda a: _graphql(doc.LEDGER, {"accountId": a, "nextToken": "garbage"})),
    Malformed("an instant in the year 318", 200, "ValidationError",
              lambda a: _graphql(doc.ACCOUNT_AT, {"id": a, "at": "0318-04-27T04:59:20Z"})),
    Malformed("2,000 aliases", 200, "ResolverCountLimitExceeded", lambda a: _graphql(
        "{ " + " ".join(f'a{i}: account(id: "{a}") {{ id }}' for i in range(2000)) + " }")),
    Malformed("publish as a user", 200, "Unauthorized", lambda a: _graphql(doc.PUBLISH, {"input": {
        "accountId": a, "balance": 1, "version": 1, "status": "OPEN", "updatedAt": "2024-01-01T00:00:00Z"}})),
    Malformed("not a token", 401, "UnauthorizedException", lambda a: _graphql(doc.GET_ACCOUNT, {"id": a}),
              {"Authorization": "not-a-token"}),
    Malformed("an API key where none is declared", 401, "UnauthorizedException",
              lambda a: _graphql(doc.GET_ACCOUNT, {"id": a}), {"Authorization": None, "x-api-key": "da2-not-a-key"}),
)


@dataclass
class Observed:
    """Everything one workload saw, by tenant and account."""
    accepted: dict[tuple[str, str], list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))
    rejected: dict[str, int] = field(default_factory=lambda: defaultdict(int))     # typed command rejections
    malformed: dict[str, int] = field(default_factory=lambda: defaultdict(int))    # answered as expected
    queries: int = 0
    faults: list[str] = field(default_factory=list)                                # must stay empty
    latencies_ms: list[float] = field(default_factory=list)                        # accepted commands

    @property
    def commands(self) -> int:
        """Accepted commands (a transfer counts once)."""
        return len(self.latencies_ms)


@dataclass
class Account:
    tenant: str
    id: str
    owner: str
    opened_version: int
    opened_balance: int
    deltas: list[int] = field(default_factory=list)     # accepted balance changes, any order

    @property
    def expected_balance(self) -> int:
        return self.opened_balance + sum(self.deltas)


class Client:
    """One connection to one tenant's API, as one dev user (ops, an admin, by default: the mix
    moves money between accounts of several owners)."""

    def __init__(self, endpoint: TenantEndpoint, ssl_context: ssl.SSLContext | None = None,
                 user: str = "ops") -> None:
        self.endpoint = endpoint
        self._ssl = ssl_context
        self._auth = auth_headers(endpoint, user)
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "Client":
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
                                           connector=aiohttp.TCPConnector(limit=1, ssl=self._ssl or True))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._http is not None
        await self._http.close()

    async def post(self, body: bytes, headers: dict | None = None) -> tuple[int, dict]:
        assert self._http is not None
        sent = {"content-type": "application/json", **self._auth, **(headers or {})}
        async with self._http.post(self.endpoint.graphql_url, data=body,
                                   headers={k: v for k, v in sent.items() if v is not None}) as r:
            text = await r.text()
            try:
                return r.status, json.loads(text)
            except ValueError:
                return r.status, {"unparsable": text[:200]}

    async def call(self, query: str, variables: dict) -> tuple[int, dict]:
        return await self.post(_graphql(query, variables))


def _error_types(body: dict) -> list[str | None]:
    return [e.get("errorType") for e in body.get("errors") or ()]


async def open_accounts(endpoint: TenantEndpoint, count: int, ssl_context=None) -> list[Account]:
    accounts = []
    async with Client(endpoint, ssl_context) as client:
        for _ in range(count):
            account_id, owner = f"acc-{uuid.uuid4().hex[:12]}", f"owner-{uuid.uuid4().hex[:6]}"
            status, body = await client.call(doc.OPEN, {"input": {
                "accountId": account_id, "ownerId": owner, "currency": "EUR", "initialDeposit": 10_000,
                "commandId": uuid.uuid4().hex}})
            assert status == 200 and "errors" not in body, body
            result = body["data"]["openAccount"]
            accounts.append(Account(endpoint.name, account_id, owner, result["version"], result["balance"]))
    return accounts


class Workload:
    def __init__(self, accounts: list[Account], seed: int, malformed_share: float = 0.1,
                 ssl_context=None) -> None:
        self.accounts = accounts
        self.random = random.Random(seed)
        self.malformed_share = malformed_share
        self.observed = Observed()
        self.ssl = ssl_context

    async def client(self, endpoint: TenantEndpoint, operations: int) -> None:
        mine = [a for a in self.accounts if a.tenant == endpoint.name]
        rng = random.Random(self.random.random())
        async with Client(endpoint, self.ssl) as client:
            for _ in range(operations):
                try:
                    await self._one(client, rng, mine)
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    self.observed.faults.append(f"{endpoint.name}: {type(exc).__name__}: {exc}")

    async def _one(self, client: Client, rng: random.Random, mine: list[Account]) -> None:
        roll = rng.random()
        if roll < self.malformed_share:
            await self._malformed(client, rng.choice(MALFORMED), rng.choice(mine))
        elif roll < 0.45:
            await self._money(client, rng.choice(mine), rng.choice((doc.DEPOSIT, doc.WITHDRAW)), rng)
        elif roll < 0.6:
            source, target = rng.sample(mine, 2)
            await self._transfer(client, source, target, rng.randint(1, 300))
        else:
            await self._query(client, rng.choice(mine), rng)

    async def _money(self, client: Client, account: Account, document: str, rng: random.Random) -> None:
        amount = rng.randint(1, 100) if document == doc.DEPOSIT else rng.choice((rng.randint(1, 100), 10**9))
        started = time.perf_counter()
        status, body = await client.call(document, {"input": {
            "accountId": account.id, "amount": amount, "commandId": uuid.uuid4().hex}})
        field_name = "deposit" if document == doc.DEPOSIT else "withdraw"
        if self._rejected_or_fault(client, field_name, status, body):
            return
        result = body["data"][field_name]
        self._accept(account, result, amount if document == doc.DEPOSIT else -amount, started)

    async def _transfer(self, client: Client, source: Account, target: Account, amount: int) -> None:
        started = time.perf_counter()
        status, body = await client.call(doc.TRANSFER, {"input": {
            "fromAccountId": source.id, "toAccountId": target.id, "amount": amount, "commandId": uuid.uuid4().hex}})
        if self._rejected_or_fault(client, "transfer", status, body):
            return
        result = body["data"]["transfer"]
        self._accept(source, result["from"], -amount, started)
        self._accept(target, result["to"], amount, None)

    def _accept(self, account: Account, result: dict, delta: int, started: float | None) -> None:
        self.observed.accepted[(account.tenant, account.id)].append((result["version"], result["balance"]))
        account.deltas.append(delta)
        if started is not None:
            self.observed.latencies_ms.append((time.perf_counter() - started) * 1000)

    def _rejected_or_fault(self, client: Client, what: str, status: int, body: dict) -> bool:
        types = _error_types(body)
        if status == 200 and not types:
            return False
        if status == 200 and len(types) == 1 and types[0] in COMMAND_REJECTIONS:
            self.observed.rejected[types[0]] += 1
        else:
            self.observed.faults.append(f"{client.endpoint.name} {what}: HTTP {status} {json.dumps(body)[:300]}")
        return True

    async def _query(self, client: Client, account: Account, rng: random.Random) -> None:
        query, variables = rng.choice((
            (doc.GET_ACCOUNT, {"id": account.id}),
            (doc.LEDGER, {"accountId": account.id, "limit": rng.randint(1, 100)}),
            (doc.ACCOUNTS, {"ownerId": account.owner}),
            (doc.ACCOUNT_AT, {"id": account.id, "version": account.opened_version}),
        ))
        status, body = await client.call(query, variables)
        if status != 200 or body.get("errors") or body.get("data") is None:
            self.observed.faults.append(f"{client.endpoint.name} query: HTTP {status} {json.dumps(body)[:300]}")
        self.observed.queries += 1

    async def _malformed(self, client: Client, case: Malformed, account: Account) -> None:
        status, body = await client.post(case.body(account.id), case.headers)
        types = _error_types(body)
        if status == case.status and types and all(t == case.error_type for t in types):
            self.observed.malformed[case.name] += 1
        else:
            self.observed.faults.append(f"{client.endpoint.name} malformed '{case.name}': expected HTTP "
                                        f"{case.status} {case.error_type}, got HTTP {status} {json.dumps(body)[:300]}")


def lost_updates(accounts: list[Account], observed: Observed) -> list[str]:
    """Accepted versions of each account must be exactly the ones after its opening, each once."""
    problems = []
    for account in accounts:
        versions = sorted(v for v, _ in observed.accepted.get((account.tenant, account.id), ()))
        expected = list(range(account.opened_version + 1, account.opened_version + 1 + len(versions)))
        if versions != expected:
            problems.append(f"{account.tenant}/{account.id}: accepted versions {versions[:20]}...")
    return problems


def final_version(account: Account, observed: Observed) -> int:
    versions = [v for v, _ in observed.accepted.get((account.tenant, account.id), ())]
    return max(versions, default=account.opened_version)


class Subscriber:
    """One `onAccountUpdated` subscription over gql's AppSync transport; records every version."""

    def __init__(self, endpoint: TenantEndpoint, account: Account, ssl_context=None) -> None:
        self.endpoint, self.account, self.ssl = endpoint, account, ssl_context
        self.versions: list[int] = []
        self.received_at: list[tuple[float, int]] = []
        self.errors: list[str] = []
        self._reached: asyncio.Event = asyncio.Event()
        self._target: int | None = None
        self.stopped = asyncio.Event()          # the subscription ended (error or completion)

    async def run(self, acked: asyncio.Event) -> None:
        from gql import Client as GqlClient, GraphQLRequest
        from tests.e2e.support import realtime_transport

        transport = realtime_transport(self.endpoint, "ops", ssl=self.ssl)
        try:
            async with GqlClient(transport=transport) as session:
                request = GraphQLRequest(doc.ON_UPDATE, variable_values={"accountId": self.account.id})
                listening = asyncio.create_task(self._listen(session, request))
                await asyncio.wait_for(transport.acked.wait(), 30)
                acked.set()
                await listening
        except Exception as exc:  # noqa: BLE001 - recorded and asserted on by the suite
            self.errors.append(f"{type(exc).__name__}: {exc}")
            acked.set()
        finally:
            self.stopped.set()

    async def _listen(self, session, request) -> None:
        async for result in session.subscribe(request):
            version = result["onAccountUpdated"]["version"]
            self.versions.append(version)
            self.received_at.append((time.perf_counter(), version))
            if self._target is not None and version >= self._target:
                self._reached.set()
                return

    async def until(self, version: int, timeout: float) -> bool:
        """Wait until an update at `version` (or later) arrived."""
        self._target = version
        if self.versions and self.versions[-1] >= version:
            return True
        reached, stopped = (asyncio.create_task(e.wait()) for e in (self._reached, self.stopped))
        await asyncio.wait((reached, stopped), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        reached.cancel(), stopped.cancel()
        return bool(self.versions) and self.versions[-1] >= version
