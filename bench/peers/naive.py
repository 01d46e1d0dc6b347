"""The naive design: Query every event of the account (strongly consistent), fold, conditional
PutItem of the new event, then Kinesis PutRecord (a dual write). A lost race reloads and re-decides,
so it never loses an update; it just pays full replay and three round trips per command."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from lambdas.banking.rules import MAX_BALANCE

MAX_ATTEMPTS = 10


class NaiveRuleError(Exception):
    def __init__(self, account_id: str, rule: str) -> None:
        super().__init__(f"{account_id}: {rule}")
        self.account_id = account_id
        self.rule = rule


class NaiveConflictError(Exception):
    def __init__(self, account_id: str, attempts: int) -> None:
        super().__init__(f"{account_id}: conflict after {attempts} attempts")
        self.account_id = account_id
        self.attempts = attempts


def create_table(client: Any, name: str) -> str:
    client.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "aggregateId", "KeyType": "HASH"},
            {"AttributeName": "version", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "aggregateId", "AttributeType": "S"},
            {"AttributeName": "version", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def create_stream(client: Any, name: str) -> str:
    client.create_stream(StreamName=name, ShardCount=1)
    return name


class NaiveBank:
    def __init__(self, dynamodb: Any, kinesis: Any, table: str, stream: str) -> None:
        self.dynamodb, self.kinesis, self.table, self.stream = dynamodb, kinesis, table, stream

    # -- commands -------------------------------------------------------------------------------
    def open_account(self, key: str, owner_id: str, currency: str, initial_deposit: int, command_id: str) -> None:
        def decide(state: dict | None) -> tuple[str, dict]:
            if state is not None:
                raise NaiveRuleError(key, "AccountAlreadyExists")
            return "AccountOpened", {"ownerId": owner_id, "currency": currency, "initialDeposit": initial_deposit}

        self._execute(key, decide, command_id)

    def deposit(self, key: str, amount: int, command_id: str) -> None:
        def decide(state: dict | None) -> tuple[str, dict]:
            _require_open(key, state)
            if state["balance"] + amount > MAX_BALANCE:
                raise NaiveRuleError(key, "BalanceLimitExceeded")
            return "MoneyDeposited", {"amount": amount}

        self._execute(key, decide, command_id)

    def withdraw(self, key: str, amount: int, command_id: str) -> None:
        def decide(state: dict | None) -> tuple[str, dict]:
            _require_open(key, state)
            if state["balance"] < amount:
                raise NaiveRuleError(key, "InsufficientFunds")
            return "MoneyWithdrawn", {"amount": amount}

        self._execute(key, decide, command_id)

    def balance(self, key: str) -> int:
        state, _ = self.load(key)
        return state["balance"] if state else 0

    # -- the three round trips ------------------------------------------------------------------
    def load(self, key: str) -> tuple[dict | None, int]:
        state, version = None, 0
        kwargs: dict[str, Any] = dict(
            TableName=self.table, KeyConditionExpression="aggregateId = :a",
            ExpressionAttributeValues={":a": {"S": key}}, ConsistentRead=True,
        )
        while True:
            page = self.dynamodb.query(**kwargs)
            for item in page.get("Items", []):
                state = _evolve(state, item["eventType"]["S"], json.loads(item["data"]["S"]))
                version = int(item["version"]["N"])
            if "LastEvaluatedKey" not in page:
                return state, version
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def append(self, key: str, version: int, event_type: str, data: dict, command_id: str) -> None:
        item = _item(key, version, event_type, data, command_id)
        self.dynamodb.put_item(
            TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(aggregateId)"
        )
        envelope = {name: next(iter(value.values())) for name, value in item.items()}
        self.kinesis.put_record(StreamName=self.stream, PartitionKey=key, Data=json.dumps(envelope).encode())

    def seed_deposits(self, key: str, count: int, amount: int) -> None:
        """Grow a history fast (BatchWriteItem, no stream): only for setting up the history probe."""
        _, version = self.load(key)
        items = [
            _item(key, version + i, "MoneyDeposited", {"amount": amount}, str(uuid.uuid4()))
            for i in range(1, count + 1)
        ]
        for start in range(0, len(items), 25):
            writes = [{"PutRequest": {"Item": item}} for item in items[start:start + 25]]
            self.dynamodb.batch_write_item(RequestItems={self.table: writes})

    def _execute(self, key: str, decide: Any, command_id: str) -> None:
        for _ in range(MAX_ATTEMPTS):
            state, version = self.load(key)
            event_type, data = decide(state)
            try:
                self.append(key, version + 1, event_type, data, command_id)
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    continue
                raise
            return
        raise NaiveConflictError(key, MAX_ATTEMPTS)


def _item(key: str, version: int, event_type: str, data: dict, command_id: str) -> dict:
    return {
        "aggregateId": {"S": key},
        "version": {"N": str(version)},
        "eventId": {"S": str(uuid.uuid4())},
        "eventType": {"S": event_type},
        "occurredAt": {"S": datetime.now(UTC).isoformat()},
        "commandId": {"S": command_id},
        "data": {"S": json.dumps(data)},
    }


def _require_open(key: str, state: dict | None) -> None:
    if state is None:
        raise NaiveRuleError(key, "AccountNotFound")


def _evolve(state: dict | None, event_type: str, data: dict) -> dict:
    if event_type == "AccountOpened":
        return {"balance": data["initialDeposit"], "currency": data["currency"]}
    assert state is not None
    if event_type == "MoneyDeposited":
        return {**state, "balance": state["balance"] + data["amount"]}
    if event_type == "MoneyWithdrawn":
        return {**state, "balance": state["balance"] - data["amount"]}
    return state
