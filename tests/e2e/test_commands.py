"""Every mutation and query of the contract, through GraphQL against `tenantry dev`."""

from __future__ import annotations

import asyncio

import pytest
from gql.transport.exceptions import TransportQueryError

from tests.e2e import documents as doc
from tests.e2e.support import Api, eventually, uid

pytestmark = pytest.mark.e2e

MAX_BALANCE = 2_147_483_647


def open_account(api: Api, currency: str = "EUR", initial: int | None = None, owner: str | None = None) -> str:
    account_id = uid("acc")
    body = {"accountId": account_id, "currency": currency, "commandId": uid("cmd"),
            **({"ownerId": owner} if owner else {})}      # no ownerId: the caller owns it
    if initial is not None:
        body["initialDeposit"] = initial
    api.execute(doc.OPEN, {"input": body})
    return account_id


def money(account_id: str, amount: int, **extra) -> dict:
    return {"input": {"accountId": account_id, "amount": amount, "commandId": uid("cmd"), **extra}}


def error_of(api: Api, query: str, variables: dict) -> dict:
    with pytest.raises(TransportQueryError) as caught:
        api.execute(query, variables)
    return caught.value.errors[0]


def projected(api: Api, account_id: str, version: int) -> dict:
    return eventually(lambda: api.execute(doc.GET_ACCOUNT, {"id": account_id})["account"],
                      lambda a: a is not None and a["version"] >= version)


@pytest.fixture
def api(acme) -> Api:
    # The command contract, exercised by an admin (ops may name any owner); who may do what is
    # test_authorization's subject.
    return Api(acme, "ops")


def test_open_deposit_withdraw_and_read_back(api):
    # GIVEN an account opened with 100
    account_id = open_account(api, initial=100)
    # WHEN 50 is deposited and 30 withdrawn
    deposited = api.execute(doc.DEPOSIT, money(account_id, 50))["deposit"]
    withdrawn = api.execute(doc.WITHDRAW, money(account_id, 30))["withdraw"]
    # THEN the write side answers synchronously and the read model converges on it
    assert (deposited["balance"], withdrawn["balance"]) == (150, 120)
    assert withdrawn["version"] == deposited["version"] + 1
    account = projected(api, account_id, withdrawn["version"])
    assert (account["balance"], account["status"], account["currency"]) == (120, "OPEN", "EUR")


def test_open_without_account_id_generates_one(api):
    result = api.execute(doc.OPEN, {"input": {"ownerId": uid("o"), "currency": "USD",
                                               "commandId": uid("cmd")}})["openAccount"]
    assert result["accountId"] and result["version"] >= 1


def test_transfer_moves_money_atomically(api):
    source, target = open_account(api, initial=500), open_account(api)
    result = api.execute(doc.TRANSFER, {"input": {"fromAccountId": source, "toAccountId": target,
                                                  "amount": 200, "commandId": uid("cmd")}})["transfer"]
    assert result["from"]["balance"] == 300 and result["to"]["balance"] == 200
    assert result["transferId"]
    assert projected(api, target, result["to"]["version"])["balance"] == 200


def test_close_account_at_zero_balance(api):
    account_id = open_account(api)
    closed = api.execute(doc.CLOSE, {"input": {"accountId": account_id, "commandId": uid("cmd")}})
    assert closed["closeAccount"]["balance"] == 0
    assert projected(api, account_id, closed["closeAccount"]["version"])["status"] == "CLOSED"


def test_accounts_by_owner_paginates(api):
    owner = uid("owner")
    opened = {open_account(api, owner=owner) for _ in range(3)}
    for account_id in opened:
        projected(api, account_id, 1)
    seen, token = [], None
    while True:
        page = api.execute(doc.ACCOUNTS, {"ownerId": owner, "limit": 2, "nextToken": token})["accounts"]
        assert len(page["items"]) <= 2
        seen.extend(item["id"] for item in page["items"])
        token = page["nextToken"]
        if token is None:
            break
    assert sorted(seen) == sorted(opened)


def test_ledger_paginates_oldest_first(api):
    account_id = open_account(api, initial=10)
    last = None
    for amount in (1, 2, 3, 4):
        last = api.execute(doc.DEPOSIT, money(account_id, amount))["deposit"]
    projected(api, account_id, last["version"])
    entries, token = [], None
    while True:
        page = api.execute(doc.LEDGER, {"accountId": account_id, "limit": 2, "nextToken": token})["ledger"]
        entries.extend(page["items"])
        token = page["nextToken"]
        if token is None:
            break
    versions = [e["version"] for e in entries]
    assert versions == sorted(versions)
    assert [e["amount"] for e in entries if e["kind"] == "DEPOSIT"][-4:] == [1, 2, 3, 4]
    assert entries[-1]["balanceAfter"] == 20


def test_account_at_version_and_instant(api):
    account_id = open_account(api, initial=100)
    first = api.execute(doc.DEPOSIT, money(account_id, 1))["deposit"]
    state = projected(api, account_id, first["version"])
    api.execute(doc.DEPOSIT, money(account_id, 1000))
    at_version = api.execute(doc.ACCOUNT_AT, {"id": account_id, "version": first["version"]})["accountAt"]
    at_instant = api.execute(doc.ACCOUNT_AT, {"id": account_id, "at": state["updatedAt"]})["accountAt"]
    assert at_version["balance"] == 101 and at_version["version"] == first["version"]
    assert at_instant["balance"] == 101
    assert api.execute(doc.ACCOUNT_AT, {"id": uid("missing")})["accountAt"] is None


def test_repeated_command_id_returns_the_original_result(api):
    account_id = open_account(api)
    variables = money(account_id, 25)
    first = api.execute(doc.DEPOSIT, variables)["deposit"]
    again = api.execute(doc.DEPOSIT, variables)["deposit"]
    assert again == first
    assert api.execute(doc.ACCOUNT_AT, {"id": account_id})["accountAt"]["version"] == first["version"]


def test_twenty_concurrent_deposits_lose_nothing(api):
    account_id = open_account(api)

    async def all_deposits():
        return await asyncio.gather(*(api.aexecute(doc.DEPOSIT, money(account_id, 10)) for _ in range(20)))

    results = asyncio.run(all_deposits())
    versions = sorted(r["deposit"]["version"] for r in results)
    assert len(set(versions)) == 20
    final = api.execute(doc.ACCOUNT_AT, {"id": account_id})["accountAt"]
    assert final["balance"] == 200 and final["version"] == versions[-1]
    assert projected(api, account_id, final["version"])["balance"] == 200


@pytest.mark.parametrize("variables", [
    {"input": {"ownerId": "o", "currency": "euro", "commandId": "c1"}},
    {"input": {"ownerId": "o", "currency": "EUR", "commandId": "bad id!"}},
])
def test_invalid_open_is_validation_error(api, variables):
    assert error_of(api, doc.OPEN, variables)["errorType"] == "ValidationError"


def test_zero_amount_is_validation_error(api):
    assert error_of(api, doc.DEPOSIT, money(open_account(api), 0))["errorType"] == "ValidationError"


def test_bad_aws_datetime_is_validation_error(api):
    assert error_of(api, doc.ACCOUNT_AT, {"id": "x", "at": "yesterday"})["errorType"] == "ValidationError"


def test_unknown_account_is_account_not_found(api):
    assert error_of(api, doc.DEPOSIT, money(uid("missing"), 5))["errorType"] == "AccountNotFound"


def test_opening_an_existing_id_is_account_already_exists(api):
    account_id = open_account(api)
    error = error_of(api, doc.OPEN, {"input": {"accountId": account_id, "ownerId": "o", "currency": "EUR",
                                               "commandId": uid("cmd")}})
    assert error["errorType"] == "AccountAlreadyExists"


def test_deposit_to_closed_account_is_account_closed(api):
    account_id = open_account(api)
    api.execute(doc.CLOSE, {"input": {"accountId": account_id, "commandId": uid("cmd")}})
    assert error_of(api, doc.DEPOSIT, money(account_id, 5))["errorType"] == "AccountClosed"


def test_overdraw_is_insufficient_funds(api):
    account_id = open_account(api, initial=10)
    assert error_of(api, doc.WITHDRAW, money(account_id, 11))["errorType"] == "InsufficientFunds"


def test_transfer_across_currencies_is_currency_mismatch(api):
    source, target = open_account(api, "EUR", 100), open_account(api, "USD")
    error = error_of(api, doc.TRANSFER, {"input": {"fromAccountId": source, "toAccountId": target,
                                                   "amount": 5, "commandId": uid("cmd")}})
    assert error["errorType"] == "CurrencyMismatch"


def test_balance_over_int32_is_balance_limit_exceeded(api):
    account_id = open_account(api, initial=1_000_000_000)
    api.execute(doc.DEPOSIT, money(account_id, 1_000_000_000))
    error = error_of(api, doc.DEPOSIT, money(account_id, MAX_BALANCE - 2_000_000_000 + 1))
    assert error["errorType"] == "BalanceLimitExceeded"


def test_stale_expected_version_is_concurrency_conflict(api):
    account_id = open_account(api)
    error = error_of(api, doc.DEPOSIT, money(account_id, 5, expectedVersion=99))
    assert error["errorType"] == "ConcurrencyConflict"


def test_reused_command_id_with_other_payload_is_idempotency_conflict(api):
    account_id = open_account(api)
    variables = money(account_id, 5)
    api.execute(doc.DEPOSIT, variables)
    variables["input"]["amount"] = 6
    assert error_of(api, doc.DEPOSIT, variables)["errorType"] == "IdempotencyConflict"


def test_failed_command_writes_nothing(api):
    account_id = open_account(api, initial=10)
    before = api.execute(doc.ACCOUNT_AT, {"id": account_id})["accountAt"]
    error_of(api, doc.WITHDRAW, money(account_id, 11))
    assert api.execute(doc.ACCOUNT_AT, {"id": account_id})["accountAt"] == before


@pytest.mark.parametrize("query, variables", [
    (doc.ACCOUNTS, {"ownerId": "o", "nextToken": "garbage"}),
    (doc.LEDGER, {"accountId": "acc-1", "nextToken": "garbage"}),
    (doc.ACCOUNT_AT, {"id": "x", "at": "0318-04-27T04:59:20Z"}),
    (doc.OPEN, {"input": {"ownerId": "\U0001F600" * 100, "currency": "EUR", "commandId": "emoji-owner"}}),
])
def test_what_the_fuzzer_found_is_a_validation_error(api, query, variables):
    # GIVEN the inputs that used to give DynamoDB:DynamoDbException, Lambda:Unhandled, or an
    # account its owner could never list WHEN they are sent THEN each is a ValidationError
    assert error_of(api, query, variables)["errorType"] == "ValidationError"
