"""A handler that reports its environment, its context and a module-level invocation counter."""

import os

import boto3

IMPORTED_WITH_TENANT = os.environ.get("TENANT_ID")
_calls = 0
_client = None


def handler(event, context):
    global _calls, _client
    if event.get("raise"):
        raise ValueError(event["raise"])
    _calls += 1
    _client = _client or boto3.client("dynamodb")
    return {
        "calls": _calls,
        "tenant": os.environ["TENANT_ID"],
        "importedWithTenant": IMPORTED_WITH_TENANT,
        "endpoint": os.environ["AWS_ENDPOINT_URL"],
        "region": os.environ["AWS_REGION"],
        "functionEnv": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
        "functionName": context.function_name,
        "arn": context.invoked_function_arn,
        "remainingMs": context.get_remaining_time_in_millis(),
        "tables": _client.list_tables()["TableNames"],
    }
