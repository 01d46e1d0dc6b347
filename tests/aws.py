"""Moto fixtures' building blocks, importable by any test module (conftest modules are not: there
is one per test group and they share a name). Tables come from `tenantry.ops.resources`, built
from the same key constants the code and the Pulumi components use, so they cannot drift."""

from __future__ import annotations

from tenantry.ops.resources import create_event_table

REGION = "eu-west-1"


def create_events_table(client, name: str = "acme-events") -> str:
    create_event_table(client, name)
    return name


def count_items(client, table: str) -> int:
    return sum(page["Count"] for page in client.get_paginator("scan").paginate(TableName=table, Select="COUNT"))
