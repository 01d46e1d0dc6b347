"""Who may call what, end to end (issue 11 "Tests (security first)"): alice, bob and ops (in
`admins`) as `tenantry dev` seeds them, each with a user-pool token, over HTTP and real-time;
`test_every_contract_field_as_alice_bob_and_ops` is the whole table of DESIGN section 3.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from gql import Client, GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.appsync_auth import AppSyncJWTAuthentication
from gql.transport.exceptions import TransportQueryError

from tests.e2e import documents as doc
from tests.e2e.support import AckedAppSyncTransport, TenantEndpoint, auth_headers, eventually, uid

pytestmark = pytest.mark.e2e

DEADLINE_S = 30    # so that a broken pipeline fails instead of hanging; not a performance check
MY_ACCOUNTS = f"query Mine {{ accounts {{ items {{ {doc.ACCOUNT} }} nextToken }} }}"
ON_MINE = "subscription Mine { onMyAccountsUpdated { accountId balance version ownerId } }"


@dataclass(frozen=True)
class UserApi:
    """One dev user of one tenant, calling the API with its token (gql, unchanged)."""

    endpoint: TenantEndpoint
    name: str

    def token(self) -> str:
        return auth_headers(self.endpoint, self.name)["Authorization"]

    def execute(self, query: str, variables: dict | None = None) -> dict:
        async def run() -> dict:
            transport = AIOHTTPTransport(url=self.endpoint.graphql_url, headers={"Authorization": self.token()})
            async with Client(transport=transport) as session:
                return await session.execute(GraphQLRequest(query, variable_values=variables))
        return asyncio.run(run())

    def refused(self, query: str, variables: dict | None = None) -> str:
        """The errorType of a call that must fail."""
        with pytest.raises(TransportQueryError) as caught:
            self.execute(query, variables)
        return caught.value.errors[0]["errorType"]

    def realtime(self) -> AckedAppSyncTransport:
        return AckedAppSyncTransport(url=self.endpoint.realtime_url,
                                     auth=AppSyncJWTAuthentication(host=self.endpoint.host, jwt=self.token()))


@pytest.fixture
def as_user(dev):
    def make(tenant: str, name: str) -> UserApi:
        return UserApi(dev.tenants[tenant], name)
    return make


@pytest.fixture
def alice(as_user):
    return as_user("acme", "alice")


@pytest.fixture
def bob(as_user):
    return as_user("acme", "bob")


@pytest.fixture
def ops(as_user):
    return as_user("acme", "ops")


def open_own(user: UserApi, deposit: int = 100) -> str:
    account_id = uid(user.name)
    user.execute(doc.OPEN, {"input": {"accountId": account_id, "currency": "EUR", "initialDeposit": deposit,
                                        "commandId": uid("open")}})
    return account_id


def money(account_id: str, amount: int = 5) -> dict:
    return {"input": {"accountId": account_id, "amount": amount, "commandId": uid("m")}}


def version_of(user: UserApi, account_id: str) -> int:
    return user.execute(doc.ACCOUNT_AT, {"id": account_id})["accountAt"]["version"]


def test_open_account_without_owner_id_is_owned_by_the_caller(alice):
    account_id = open_own(alice)
    row = eventually(lambda: alice.execute(doc.GET_ACCOUNT, {"id": account_id})["account"], lambda r: r is not None)
    mine = alice.execute(MY_ACCOUNTS)["accounts"]["items"]
    assert account_id in {a["id"] for a in mine} and {a["ownerId"] for a in mine} == {row["ownerId"]}


def test_open_account_for_another_owner_only_for_admins(alice, bob, ops):
    bobs_sub = bob.execute(doc.ACCOUNT_AT, {"id": open_own(bob)})["accountAt"]["ownerId"]
    request = {"input": {"ownerId": bobs_sub, "currency": "EUR", "commandId": uid("open")}}
    assert alice.refused(doc.OPEN, request) == "Unauthorized"
    opened = ops.execute(doc.OPEN, request)["openAccount"]
    assert bob.execute(doc.ACCOUNT_AT, {"id": opened["accountId"]})["accountAt"]["ownerId"] == bobs_sub


def test_another_user_cannot_read_an_account_an_admin_can(alice, bob, ops):
    # GIVEN alice's account, projected
    account_id = open_own(alice)
    eventually(lambda: alice.execute(doc.LEDGER, {"accountId": account_id})["ledger"]["items"], bool)
    alices_sub = alice.execute(doc.ACCOUNT_AT, {"id": account_id})["accountAt"]["ownerId"]
    reads = [(doc.GET_ACCOUNT, {"id": account_id}), (doc.ACCOUNT_AT, {"id": account_id}),
             (doc.LEDGER, {"accountId": account_id}), (doc.ACCOUNTS, {"ownerId": alices_sub})]
    # THEN every read is Unauthorized for bob and answered for ops
    assert [bob.refused(q, v) for q, v in reads] == ["Unauthorized"] * len(reads)
    assert all(ops.execute(q, v) for q, v in reads)


def test_another_user_cannot_move_or_close_an_account_and_nothing_is_written(alice, bob, ops):
    alices, bobs = open_own(alice), open_own(bob)
    attempts = [(doc.DEPOSIT, money(alices)), (doc.WITHDRAW, money(alices)),
                (doc.TRANSFER, {"input": {"fromAccountId": alices, "toAccountId": bobs, "amount": 5,
                                          "commandId": uid("t")}}),
                (doc.CLOSE, {"input": {"accountId": alices, "commandId": uid("c")}})]
    assert [bob.refused(q, v) for q, v in attempts] == ["Unauthorized"] * len(attempts)
    assert version_of(alice, alices) == 1 and version_of(bob, bobs) == 1
    # AND an admin may
    assert ops.execute(doc.DEPOSIT, money(alices))["deposit"]["version"] == 2


def test_a_transfer_from_alice_to_bob_works_for_alice_only(alice, bob):
    alices, bobs = open_own(alice), open_own(bob)
    transfer = {"input": {"fromAccountId": alices, "toAccountId": bobs, "amount": 30, "commandId": uid("t")}}
    moved = alice.execute(doc.TRANSFER, transfer)["transfer"]
    assert (moved["from"]["balance"], moved["to"]["balance"]) == (70, 130)
    pull = {"input": {"fromAccountId": alices, "toAccountId": bobs, "amount": 30, "commandId": uid("t")}}
    assert bob.refused(doc.TRANSFER, pull) == "Unauthorized"
    assert version_of(alice, alices) == 2


def test_a_user_cannot_subscribe_to_another_users_account(alice, bob):
    account_id = open_own(alice)

    async def subscribe() -> None:
        async with Client(transport=bob.realtime()) as session:
            async for _ in session.subscribe(GraphQLRequest(doc.ON_UPDATE, variable_values={"accountId": account_id})):
                raise AssertionError("bob received an update of alice's account")

    with pytest.raises(TransportQueryError) as caught:
        asyncio.run(asyncio.wait_for(subscribe(), DEADLINE_S))
    # gql hands over the error frame's payload, {"errors": [...]}, as AppSync sends it
    assert caught.value.errors[0]["errors"][0]["errorType"] == "Unauthorized"


def test_on_my_accounts_updated_delivers_the_callers_updates_only(alice, bob):
    # GIVEN alice's and bob's accounts, each of them subscribed to their own
    alices, bobs = open_own(alice), open_own(bob)

    async def scenario() -> tuple[list[dict], list[dict]]:
        seen = {"alice": [], "bob": []}
        async with Client(transport=alice.realtime()) as a_session, Client(transport=bob.realtime()) as b_session:
            async def collect(name: str, session, until: str) -> None:
                async for result in session.subscribe(GraphQLRequest(ON_MINE)):
                    seen[name].append(result["onMyAccountsUpdated"])
                    if seen[name][-1]["accountId"] == until:
                        return
            tasks = [asyncio.create_task(collect("alice", a_session, alices)),
                     asyncio.create_task(collect("bob", b_session, bobs))]
            await asyncio.sleep(0)
            for transport in (a_session.transport, b_session.transport):
                await asyncio.wait_for(transport.acked.wait(), DEADLINE_S)
            # WHEN alice's account changes and her update has reached her (so it has been fanned
            # out to every subscriber), and only then bob's: a leak would reach bob before his own
            await asyncio.to_thread(alice.execute, doc.DEPOSIT, money(alices))
            await asyncio.wait_for(tasks[0], DEADLINE_S)
            await asyncio.to_thread(bob.execute, doc.DEPOSIT, money(bobs))
            await asyncio.wait_for(tasks[1], DEADLINE_S)
        return seen["alice"], seen["bob"]

    alices_updates, bobs_updates = asyncio.run(scenario())
    # THEN each received their own account's update only
    assert {u["accountId"] for u in alices_updates} == {alices}
    assert {u["accountId"] for u in bobs_updates} == {bobs}


OK = "ok"
UNAUTHORIZED = "Unauthorized"
PUBLISH = ("mutation P($input: AccountUpdateInput!) { publishAccountUpdate(input: $input) { accountId } }")
ON_ACCOUNT = "subscription S($id: ID!) { onAccountUpdated(accountId: $id) { accountId balance } }"


def outcome(user: UserApi, query: str, variables: dict | None = None) -> str:
    try:
        user.execute(query, variables)
    except TransportQueryError as exc:
        return exc.errors[0]["errorType"]
    return OK


def subscribe_outcome(user: UserApi, query: str, variables: dict | None = None) -> str:
    """`ok` once the start is acknowledged, or the errorType the subscription was refused with."""
    async def run() -> str:
        transport = user.realtime()
        async with Client(transport=transport) as session:
            first = asyncio.ensure_future(session.subscribe(
                GraphQLRequest(query, variable_values=variables)).__anext__())
            acked = asyncio.ensure_future(transport.acked.wait())
            done, pending = await asyncio.wait({first, acked}, timeout=DEADLINE_S,
                                               return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            if first in done and isinstance(first.exception(), TransportQueryError):
                return first.exception().errors[0]["errors"][0]["errorType"]
            assert acked in done, f"neither start_ack nor an error within {DEADLINE_S}s"
            return OK
    return asyncio.run(run())


def test_every_contract_field_as_alice_bob_and_ops(alice, bob, ops):
    # GIVEN alice's accounts (one with money, three empty ones to close) and bob's
    mine, empties, bobs = open_own(alice, 1000), [open_own(alice, 0) for _ in range(3)], open_own(bob)
    now = "2100-01-01T00:00:00Z"
    update = {"input": {"accountId": mine, "balance": 1, "version": 99, "status": "OPEN", "updatedAt": now}}
    # WHEN each of them calls each field on alice's accounts (for openAccount: as alice's owner)
    calls = {
        "account": lambda u, i: outcome(u, doc.GET_ACCOUNT, {"id": mine}),
        "accounts (own)": lambda u, i: outcome(u, MY_ACCOUNTS),
        "accounts (alice's)": lambda u, i: outcome(u, doc.ACCOUNTS, {"ownerId": alice.endpoint.sub("alice")}),
        "ledger": lambda u, i: outcome(u, doc.LEDGER, {"accountId": mine}),
        "accountAt": lambda u, i: outcome(u, doc.ACCOUNT_AT, {"id": mine}),
        "openAccount (own)": lambda u, i: outcome(u, doc.OPEN, {"input": {
            "currency": "EUR", "commandId": uid("o")}}),
        "openAccount (for alice)": lambda u, i: outcome(u, doc.OPEN, {"input": {
            "ownerId": alice.endpoint.sub("alice"), "currency": "EUR", "commandId": uid("o")}}),
        "deposit": lambda u, i: outcome(u, doc.DEPOSIT, money(mine)),
        "withdraw": lambda u, i: outcome(u, doc.WITHDRAW, money(mine)),
        "transfer": lambda u, i: outcome(u, doc.TRANSFER, {"input": {
            "fromAccountId": mine, "toAccountId": bobs, "amount": 5, "commandId": uid("t")}}),
        "closeAccount": lambda u, i: outcome(u, doc.CLOSE, {"input": {"accountId": empties[i], "commandId": uid("c")}}),
        "publishAccountUpdate": lambda u, i: outcome(u, PUBLISH, update),
        "onAccountUpdated": lambda u, i: subscribe_outcome(u, ON_ACCOUNT, {"id": mine}),
        "onMyAccountsUpdated": lambda u, i: subscribe_outcome(u, ON_MINE),
    }
    seen = {field: tuple(call(user, i) for i, user in enumerate((alice, bob, ops))) for field, call in calls.items()}
    # THEN each answer is the one DESIGN section 3 gives (alice, bob, ops)
    mine_only = (OK, UNAUTHORIZED, OK)
    assert seen == {
        "account": mine_only, "accounts (own)": (OK, OK, OK), "accounts (alice's)": mine_only,
        "ledger": mine_only, "accountAt": mine_only,
        "openAccount (own)": (OK, OK, OK), "openAccount (for alice)": mine_only,
        "deposit": mine_only, "withdraw": mine_only, "transfer": mine_only, "closeAccount": mine_only,
        "publishAccountUpdate": (UNAUTHORIZED,) * 3,
        "onAccountUpdated": mine_only, "onMyAccountsUpdated": (OK, OK, OK),
    }
