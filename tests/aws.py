"""Moto fixtures' building blocks, importable by any test module (conftest modules are not: there
is one per test group and they share a name). Tables are built from the same key constants the
code and the Pulumi components use, so a fixture cannot drift from the real layout."""

from __future__ import annotations

from lambdas.eventstore import keys

REGION = "eu-west-1"


def create_events_table(client, name: str = "acme-events") -> str:
    client.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": keys.PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": keys.SORT_KEY, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": keys.PARTITION_KEY, "AttributeType": keys.PARTITION_KEY_TYPE},
            {"AttributeName": keys.SORT_KEY, "AttributeType": keys.SORT_KEY_TYPE},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    return name


def count_items(client, table: str) -> int:
    return sum(page["Count"] for page in client.get_paginator("scan").paginate(TableName=table, Select="COUNT"))
