"""Smoke test of `python -m bench.commands`: a tiny workload through the same code path, on moto.

Only counted figures are asserted (calls, units, lost updates); timings never are.
"""

from __future__ import annotations

import json

import boto3
import pytest

pytest.importorskip("eventsourcing_dynamodb", reason="benchmark peers come from the `bench` extra")

from bench.commands import Workload, main  # noqa: E402
from bench.metering import Meter  # noqa: E402
from lambdas.eventstore import keys  # noqa: E402
from tests.aws import create_events_table  # noqa: E402

# moto-backed: costs seconds, not milliseconds.
pytestmark = pytest.mark.functional

TINY = Workload(accounts=2, commands_per_account=3, history_lengths=(10, 30), wru_run_length=30,
                inmemory_accounts=2, probe_rounds=2)
MOTO_DESIGNS = ("tenantry", "eventsourcing_dynamodb", "naive")
REQUIRED = ("calls_per_command", "rru_per_command_at_1000", "wru_per_command", "lost_updates", "moto_cmd_per_s")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    with pytest.MonkeyPatch.context() as env:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_DEFAULT_REGION": "eu-west-1"}.items():
            env.setenv(name, value)
        env.delenv("AWS_ENDPOINT_URL", raising=False)
        output = tmp_path_factory.mktemp("bench") / "commands.json"
        exit_code = main(["--output", str(output)], workload=TINY)
    return exit_code, json.loads(output.read_text())


def test_the_benchmark_reports_and_exits_zero_with_the_issue_keys(results):
    # GIVEN a tiny workload WHEN the benchmark runs THEN it exits 0 and writes every design's keys
    exit_code, data = results
    assert exit_code == 0
    assert set(data["designs"]) == {*MOTO_DESIGNS, "eventsourcing_popo"}
    for name in MOTO_DESIGNS:
        assert set(REQUIRED) <= set(data["designs"][name])
    assert data["designs"]["tenantry"]["inmemory_cmd_per_s"] > 0
    assert data["designs"]["eventsourcing_popo"]["inmemory_cmd_per_s"] > 0


def test_our_commands_take_two_round_trips_at_every_history_length(results):
    ours = results[1]["designs"]["tenantry"]
    assert ours["calls_per_command"] == 2
    assert set(ours["calls_at_history_length"].values()) == {2}
    assert ours["long_run"]["max_calls_per_command"] == 2
    assert results[1]["designs"]["naive"]["calls_per_command"] == 3


def test_our_reads_stay_within_one_unit_and_writes_are_amortized(results):
    ours = results[1]["designs"]["tenantry"]
    assert set(ours["rru_at_history_length"].values()) == {1}
    assert 1 <= ours["wru_per_command"] <= 1.1


def test_ours_stays_within_the_targets_at_the_shortest_and_longest_ids(results):
    # GIVEN the workload run again at 1-character and at 64-character ids (and tenant names of 2 and 31)
    profiles = results[1]["id_profiles"]
    assert set(profiles) == {"shortest", "default", "longest"}
    # THEN two round trips, one read unit (billed on whole items) and at most 1.1 write units each
    for figures in profiles.values():
        assert set(figures["calls_at_history_length"].values()) == {2}
        assert set(figures["rru_at_history_length"].values()) == {1}
        assert figures["wru_per_command"] <= 1.1


def test_the_two_writer_probe_catches_unconditional_writes_only(results):
    # GIVEN two writers deciding on the same state WHEN both append THEN only the peer that writes
    # unconditionally loses the overwritten deposit
    designs = results[1]["designs"]
    assert designs["tenantry"]["lost_updates"] == 0
    assert designs["naive"]["lost_updates"] == 0
    assert designs["eventsourcing_dynamodb"]["lost_updates"] == TINY.probe_rounds


@pytest.fixture
def metered(aws_credentials):
    """A metered moto client and an event table built from the kernel's keys."""
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        table = create_events_table(client, "metered")
        meter = Meter()
        yield client, table, meter


def test_the_meter_counts_calls_and_units_of_a_real_client(metered):
    # GIVEN a metered client and an event table built from the kernel's keys
    client, table, meter = metered
    meter.attach(client)
    item = {keys.PARTITION_KEY: {"S": "a"}, keys.SORT_KEY: {"N": "1"}, keys.DATA: {"S": "x" * 1500}}
    # WHEN one 1.5 KB item is written, then read back strongly and eventually consistently
    client.put_item(TableName=table, Item=item)
    query = dict(TableName=table, KeyConditionExpression="pk = :a", ExpressionAttributeValues={":a": {"S": "a"}})
    client.query(**query, ConsistentRead=True)
    client.query(**query)
    # THEN two write units, one read unit per query, half of it billed for the eventual read
    counts = meter.snapshot().by_operation
    assert counts["dynamodb.PutItem"].calls == 1 and counts["dynamodb.PutItem"].wru == 2
    assert counts["dynamodb.Query"].calls == 2 and counts["dynamodb.Query"].rru == 2
    assert counts["dynamodb.Query"].rru_billed == 1.5
    assert counts["dynamodb.Query"].response_bytes > 1500


def test_the_meter_bills_projected_and_filtered_reads_on_whole_items(metered):
    # GIVEN two 2.5 KB items under one key, read through a metered client
    client, table, meter = metered
    meter.attach(client)
    for version in (1, 2):
        item = {keys.PARTITION_KEY: {"S": "a"}, keys.SORT_KEY: {"N": str(version)}, keys.DATA: {"S": "x" * 2500}}
        client.put_item(TableName=table, Item=item)
    base = meter.snapshot()
    query = dict(TableName=table, KeyConditionExpression="#p = :a", ConsistentRead=True)
    names, values = {"#p": keys.PARTITION_KEY, "#v": keys.SORT_KEY}, {":a": {"S": "a"}}
    # WHEN only the version is projected, and WHEN a filter keeps one item of the two
    client.query(**query, ProjectionExpression="#v", ExpressionAttributeNames=names, ExpressionAttributeValues=values)
    client.query(**query, FilterExpression="#v = :one", ExpressionAttributeNames=names,
                 ExpressionAttributeValues=values | {":one": {"N": "1"}})
    # THEN each Query is billed on the 5 KB it read (2 units), not on the bytes returned
    reads = (meter.snapshot() - base).by_operation["dynamodb.Query"]
    assert (reads.calls, reads.rru, reads.items_read) == (2, 4, 4)
    assert reads.response_bytes < 3000          # one 2.5 KB item and two versions came back


def test_the_meter_bills_a_failed_conditional_write_on_the_item_there(metered):
    # GIVEN a 1.5 KB item
    client, table, meter = metered
    item = {keys.PARTITION_KEY: {"S": "a"}, keys.SORT_KEY: {"N": "1"}, keys.DATA: {"S": "x" * 1500}}
    client.put_item(TableName=table, Item=item)
    meter.attach(client)
    # WHEN a small conditional put on its key fails
    small = item | {keys.DATA: {"S": "y"}}
    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.put_item(TableName=table, Item=small, ConditionExpression="attribute_not_exists(pk)")
    # THEN it is billed 2 write units, on the 1.5 KB item it checked
    assert meter.snapshot().by_operation["dynamodb.PutItem"].wru == 2
