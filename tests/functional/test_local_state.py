"""The event log `tenantry dev` keeps: written as the event store appends, restored without
inventing or dropping history, read models rebuilt by the projector's code.

Logs are made by the real domain (`tests.state_history`); the platform is acme's declaration
applied to the embedded emulator, so the event table is the one the program declares.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lambdas.banking import readmodel_keys as rk
from lambdas.banking.commands import Deposit, OpenAccount, Transfer
from lambdas.banking.service import BankingService
from lambdas.eventstore import keys as k
from lambdas.eventstore.dynamodb import DynamoDBEventStore
from lambdas.eventstore.envelope import CommandContext
from lambdas.eventstore.readmodel_dynamodb import DynamoDBReadModel
from lambdas.handlers.projector import build_runtime
from tenantry.local.applier import apply
from tenantry.local.state import DevState, StateInUseError, TenantTables
from tenantry.local.state.log import header, item_line, puts
from tenantry.local.state.restore import read_log
from tenantry.local.state.users import USERS_FILE, keep_subs
from tenantry.ops.replay import verify
from tests.functional.local_support.tokens import claims_of
from tests.functional.local_support.fixtures import declared_example, emulator  # noqa: F401 - fixture
from tests.state_history import history, write_log

TENANT = "acme"


@pytest.fixture
def acme(emulator):  # noqa: F811
    region, resources = declared_example(TENANT)
    return apply(resources, emulator, tenant=TENANT, region=region)


def _lines(items: list[dict]) -> bytes:
    return header(TENANT) + b"".join(item_line(i) for i in items)


def _table_items(emulator, local, table: str) -> list[dict]:
    ddb = emulator.client("dynamodb", local.region)
    return ddb.scan(TableName=table, ConsistentRead=True)["Items"]


# -- writing -----------------------------------------------------------------------------------
def test_each_append_of_the_event_store_is_in_the_log_when_the_call_returns(emulator, acme, tmp_path):  # noqa: F811
    # GIVEN a run's state kept in tmp_path, and acme's declared event table
    state = DevState(tmp_path, emulator)
    state.restore(acme)
    events = TenantTables.declared(acme).events
    store = DynamoDBEventStore(events, emulator.client("dynamodb", acme.region), tenant_id=TENANT)
    service = BankingService(store, TENANT)
    ctx = CommandContext("test")
    log_path = state.log_path(TENANT)
    # WHEN commands append (PutItem, and a transfer's TransactWriteItems), THEN each is on disk at once
    for aid in ("a", "b"):
        service.open_account(OpenAccount(accountId=aid, ownerId="o", currency="EUR", initialDeposit=50,
                                         commandId=f"open-{aid}"), ctx)
    assert len(log_path.read_bytes().splitlines()) == 1 + 2
    service.transfer(Transfer(fromAccountId="a", toAccountId="b", amount=20, commandId="t"), ctx)
    service.deposit(Deposit(accountId="a", amount=5, commandId="d"), ctx)
    logged = [json.loads(line)["Item"] for line in log_path.read_bytes().splitlines()[1:]]
    state.close()
    # THEN the log holds exactly the table's items, nothing of the read models
    assert sorted(map(json.dumps, logged)) == sorted(map(json.dumps, _table_items(emulator, acme, events)))
    assert [(i[k.PARTITION_KEY]["S"], i[k.SORT_KEY]["N"]) for i in logged] == \
        [("a", "1"), ("b", "1"), ("a", "2"), ("b", "2"), ("a", "3")]
    # AND a restart reads every one of them back (items as the store writes them: no tenant in them)
    restored = read_log(log_path, TENANT)
    assert restored.problems == [] and restored.items == logged


def test_a_refused_write_and_another_table_write_are_not_logged(emulator, acme, tmp_path):  # noqa: F811
    # GIVEN a kept tenant with one event
    state = DevState(tmp_path, emulator)
    state.restore(acme)
    tables = TenantTables.declared(acme)
    ddb = emulator.client("dynamodb", acme.region)
    item = history(TENANT, 1, accounts=1)[0]
    ddb.put_item(TableName=tables.events, Item=item, ConditionExpression="attribute_not_exists(pk)")
    # WHEN the same conditional put is refused, and a read-model table is written
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(TableName=tables.events, Item=item, ConditionExpression="attribute_not_exists(pk)")
    ddb.put_item(TableName=tables.accounts, Item={rk.ACCOUNTS_PARTITION_KEY: {"S": "x"}})
    state.close()
    # THEN the log holds the one event only
    assert state.log_path(TENANT).read_bytes() == _lines([item])


def test_puts_of_a_batch_leave_out_deletes_and_unprocessed_items():
    # GIVEN a BatchWriteItem with a put, a delete and a put DynamoDB handed back
    kept, left = {"pk": {"S": "a"}}, {"pk": {"S": "b"}}
    request = {"RequestItems": {"t": [{"PutRequest": {"Item": kept}}, {"DeleteRequest": {"Key": kept}},
                                      {"PutRequest": {"Item": left}}]}}
    response = {"UnprocessedItems": {"t": [{"PutRequest": {"Item": left}}]}}
    # WHEN its puts are read THEN only the processed put is there
    assert list(puts("BatchWriteItem", request, response)) == [("t", kept)]


# -- restoring ---------------------------------------------------------------------------------
def test_restore_brings_back_the_events_and_the_projector_rebuilds_the_read_models(emulator, acme, tmp_path):  # noqa: F811
    # GIVEN a kept log of 600 events of 12 accounts (snapshots on some items)
    items = history(TENANT, 600, accounts=12)
    write_log(tmp_path / TENANT / "events.jsonl", TENANT, items)
    state = DevState(tmp_path, emulator)
    # WHEN the tenant starts
    restored = state.start_tenant(acme)
    state.close()
    # THEN every event is back, the log is not appended to a second time and not moved
    tables = TenantTables.declared(acme)
    assert restored == 600
    assert sorted(map(json.dumps, _table_items(emulator, acme, tables.events))) == sorted(map(json.dumps, items))
    assert state.log_path(TENANT).read_bytes() == _lines(items)
    assert [p.name for p in (tmp_path / TENANT).iterdir()] == ["events.jsonl"]
    # AND the read models are exactly what the projector folds from the event store
    runtime = build_runtime(tenant_id=TENANT, events_table=tables.events, accounts_table=tables.accounts,
                            ledger_table=tables.ledger, client=emulator.client("dynamodb", acme.region))
    verify(runtime.read_model, runtime.store, sorted({i[k.PARTITION_KEY]["S"] for i in items}))
    assert len(DynamoDBReadModel(tables.accounts, tables.ledger, row_key=rk.ACCOUNTS_PARTITION_KEY,
                                 client=runtime.read_model.client).scan_rows()) == 12


def test_restored_events_do_not_reach_the_table_stream(emulator, acme, tmp_path):  # noqa: F811
    # GIVEN a kept log
    write_log(tmp_path / TENANT / "events.jsonl", TENANT, history(TENANT, 20, accounts=2))
    state = DevState(tmp_path, emulator)
    # WHEN it is restored
    state.start_tenant(acme)
    state.close()
    # THEN the publisher (TRIM_HORIZON on the table's stream) has nothing to publish again
    table = next(t for t in acme.tables.values() if t.name == TenantTables.declared(acme).events)
    streams = emulator.client("dynamodbstreams", acme.region)
    shard = streams.describe_stream(StreamArn=table.stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=table.stream_arn, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert streams.get_records(ShardIterator=iterator)["Records"] == []


def test_a_second_run_on_the_same_state_is_refused(emulator, tmp_path):  # noqa: F811
    # GIVEN a run holding the state directory
    first = DevState(tmp_path, emulator)
    # WHEN another starts on it THEN it is refused, naming the directory
    with pytest.raises(StateInUseError) as refused:
        DevState(tmp_path, emulator)
    assert refused.value.directory == tmp_path
    first.close()


def test_fresh_discards_the_state_of_the_tenants_it_runs_only(emulator, tmp_path):  # noqa: F811
    # GIVEN kept logs of two tenants
    for tenant in ("acme", "globex"):
        write_log(tmp_path / tenant / "events.jsonl", tenant, [])
    state = DevState(tmp_path, emulator)
    # WHEN --fresh --tenant acme discards THEN acme's folder is gone and globex's is kept
    assert [p.name for p in state.discard(["acme"])] == ["acme"]
    assert not (tmp_path / "acme").exists() and (tmp_path / "globex" / "events.jsonl").exists()
    state.close()


# -- bad input ---------------------------------------------------------------------------------
def _damaged(tmp_path: Path, items: list[dict], *changes: tuple[int, bytes | None]) -> Path:
    """The log of `items` with line n (1 = header) replaced (None: removed)."""
    lines = _lines(items).splitlines(keepends=True)
    for number, text in changes:
        lines[number - 1] = text if text is not None else b""
    path = tmp_path / TENANT / "events.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(lines))
    return path


def _with(item: dict, **attributes: dict) -> bytes:
    return item_line({**item, **attributes})


def test_a_truncated_last_line_is_reported_and_every_other_event_kept(tmp_path):
    # GIVEN a log whose last line was cut short by a crash
    items = history(TENANT, 30, accounts=3)
    path = _damaged(tmp_path, items, (31, item_line(items[-1])[:40]))
    # WHEN it is read THEN that line is named, and the 29 others are kept
    restored = read_log(path, TENANT)
    assert [(p.path, p.line) for p in restored.problems] == [(path, 31)]
    assert "truncated" in restored.problems[0].reason
    assert restored.items == items[:-1] and restored.held_back == []


def test_a_garbage_line_is_reported_and_the_aggregate_after_it_held_back(tmp_path):
    # GIVEN a log with garbage where acc-0's version 2 was
    items = history(TENANT, 30, accounts=3)
    bad = next(n for n, i in enumerate(items) if i[k.PARTITION_KEY]["S"] == "acc-0" and i[k.SORT_KEY]["N"] == "2")
    path = _damaged(tmp_path, items, (bad + 2, b"\x00garbage{\n"))
    # WHEN it is read
    restored = read_log(path, TENANT)
    # THEN the line is named, acc-0 stops at version 1 and its later versions are held back, not invented
    assert [p.line for p in restored.problems] == [bad + 2]
    later = [i for i in items if i[k.PARTITION_KEY]["S"] == "acc-0" and int(i[k.SORT_KEY]["N"]) > 2]
    assert [(h.aggregate_id, h.restored_to, len(h.versions)) for h in restored.held_back] == [("acc-0", 1, len(later))]
    assert restored.items == [i for n, i in enumerate(items) if n != bad and i not in later]


def test_an_unknown_event_type_is_reported_with_its_aggregate_and_version(tmp_path):
    # GIVEN a log whose last event of acc-1 has a type the domain does not know
    items = history(TENANT, 30, accounts=3)
    last = max(n for n, i in enumerate(items) if i[k.PARTITION_KEY]["S"] == "acc-1")
    path = _damaged(tmp_path, items, (last + 2, _with(items[last], **{k.EVENT_TYPE: {"S": "MoneyPrinted"}})))
    # WHEN it is read THEN it is named with its aggregate and version, and every other event is kept
    restored = read_log(path, TENANT)
    version = items[last][k.SORT_KEY]["N"]
    assert [p.line for p in restored.problems] == [last + 2]
    assert f"acc-1 v{version}" in restored.problems[0].reason and "MoneyPrinted" in restored.problems[0].reason
    assert restored.items == items[:last] + items[last + 1:]


def test_an_item_the_event_store_would_not_publish_is_not_restored(tmp_path):
    # GIVEN items that decode but fail the store's own checks: data that does not validate, a
    # missing metadata attribute, another tenant's event, a key that is not a version
    items = history(TENANT, 8, accounts=2)
    other = json.loads(items[5][k.META]["S"]) | {k.META_TENANT_ID: "globex"}
    path = _damaged(tmp_path, items,
                    (8, _with(items[6], **{k.DATA: {"S": json.dumps({"amount": "lots"})}})),
                    (9, item_line({key: v for key, v in items[7].items() if key != k.META})),
                    (7, _with(items[5], **{k.META: {"S": json.dumps(other)}})),
                    (2, _with(items[0], **{k.SORT_KEY: {"S": "one"}})))
    # WHEN it is read THEN each is named by line, none is restored
    restored = read_log(path, TENANT)
    assert [p.line for p in restored.problems] == [2, 7, 8, 9]
    assert "globex" in restored.problems[1].reason
    assert all(i not in restored.items for i in (items[0], items[5], items[6], items[7]))


def test_a_damaged_log_is_moved_aside_unchanged_and_the_run_appends_to_the_good_part(emulator, acme, tmp_path):  # noqa: F811
    # GIVEN a damaged log (a garbage line in the middle)
    items = history(TENANT, 40, accounts=4)
    path = _damaged(tmp_path, items, (12, b"not json\n"))
    original = path.read_bytes()
    state = DevState(tmp_path, emulator)
    # WHEN the tenant starts
    restored, aside = state.restore(acme)
    state.close()
    # THEN the damaged file is kept byte for byte with a note naming the line, and the new log holds
    # exactly what was restored (so events appended now never follow held-back ones)
    assert aside is not None and aside.read_bytes() == original
    assert "line 12" in aside.with_suffix(".txt").read_text()
    assert path.read_bytes() == _lines(restored.items)
    assert len(_table_items(emulator, acme, TenantTables.declared(acme).events)) == len(restored.items)


def test_a_log_of_an_unknown_format_version_restores_nothing_and_is_kept(tmp_path):
    # GIVEN a log written by a newer format
    items = history(TENANT, 5, accounts=2)
    newer = json.dumps({"format": "tenantry-event-log", "version": 99, "tenant": TENANT}).encode() + b"\n"
    path = _damaged(tmp_path, items, (1, newer))
    # WHEN it is read THEN line 1 is named and nothing is restored from it
    restored = read_log(path, TENANT)
    assert [p.line for p in restored.problems] == [1] and restored.items == []


# -- dev users ---------------------------------------------------------------------------------
ALICE = "alice@acme.dev.local"


def _pool_with_alice(emulator) -> tuple[object, str]:  # noqa: F811
    """As acme declares it: users sign in with their e-mail (moto then makes the sub the username)."""
    idp = emulator.client("cognito-idp", "eu-west-1")
    pool = idp.create_user_pool(PoolName="acme-users", UsernameAttributes=["email"])["UserPool"]["Id"]
    idp.admin_create_user(UserPoolId=pool, Username=ALICE, MessageAction="SUPPRESS")
    return idp, pool


def _sub(idp, pool: str, username: str) -> str:
    attributes = idp.admin_get_user(UserPoolId=pool, Username=username)["UserAttributes"]
    return next(a["Value"] for a in attributes if a["Name"] == "sub")


def _token_sub(idp, pool: str, username: str) -> str:
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="dev",
                                         ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"])["UserPoolClient"]
    idp.admin_set_user_password(UserPoolId=pool, Username=username, Password="Passw0rd!x", Permanent=True)
    token = idp.admin_initiate_auth(UserPoolId=pool, ClientId=client["ClientId"], AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                    AuthParameters={"USERNAME": username, "PASSWORD": "Passw0rd!x"}
                                    )["AuthenticationResult"]["IdToken"]
    return claims_of(token)["sub"]


def test_a_dev_user_keeps_the_same_sub_after_a_restart(emulator, tmp_path):  # noqa: F811
    # GIVEN alice seeded in a run, her sub saved
    users = tmp_path / "acme" / USERS_FILE
    idp, pool = _pool_with_alice(emulator)
    first = keep_subs(emulator, "eu-west-1", pool, [ALICE], users)[ALICE]
    assert first == _sub(idp, pool, ALICE)
    # WHEN the next run seeds her again (moto makes a new sub)
    emulator.reset()
    idp, pool = _pool_with_alice(emulator)
    assert _sub(idp, pool, ALICE) != first
    keep_subs(emulator, "eu-west-1", pool, [ALICE], users)
    # THEN she has her saved sub back, as an attribute and in her tokens
    assert _sub(idp, pool, ALICE) == first and _token_sub(idp, pool, ALICE) == first
    assert json.loads(users.read_text()) == {ALICE: first}
