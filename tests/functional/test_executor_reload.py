"""New resolver code for a running field executor (`tenantry dev`'s hot reload of resolvers/)."""

from __future__ import annotations

import threading

import pytest

from tenantry.appsync.executor import FieldExecutor
from tenantry.appsync.jsruntime import ResolverRuntimeError
from tenantry.appsync.spec import API_SPEC, RESOLVER_DIR
from tests.functional.test_executor import ACCOUNTS, Backends, account, call, create_read_model_tables, marshal

pytestmark = pytest.mark.functional

ACCOUNT_JS = (RESOLVER_DIR / "Query.account.js").read_text(encoding="utf-8")
LAMBDA_JS = (RESOLVER_DIR / "lambda.js").read_text(encoding="utf-8")
ORIGINAL_RETURN = "  return ctx.result;\n}"


def edited(source: str, returned: str) -> str:
    assert ORIGINAL_RETURN in source, "the resolver's response should end with `return ctx.result;`"
    return source.replace(ORIGINAL_RETURN, f"  return {returned};\n}}", 1)


@pytest.fixture
def backends(dynamodb) -> Backends:
    create_read_model_tables(dynamodb)
    dynamodb.put_item(TableName=ACCOUNTS, Item=marshal(account("acc-1")))
    return Backends(dynamodb)


@pytest.fixture
def executor(backends):
    with FieldExecutor(API_SPEC, RESOLVER_DIR, backends, contexts=2) as ex:
        yield ex


def test_the_next_field_runs_the_new_code(executor):
    # GIVEN an executor that has served Query.account
    assert executor.resolve(call("Query", "account", id="acc-1")).data["currency"] == "EUR"

    # WHEN the resolver's response handler is changed
    executor.reload({"Query.account.js": edited(ACCOUNT_JS, "{ ...ctx.result, currency: 'XXX' }")})

    # THEN the next field evaluates the new code
    assert executor.resolve(call("Query", "account", id="acc-1")).data["currency"] == "XXX"


def test_a_field_in_flight_finishes_both_handlers_on_the_old_code(executor, backends):
    # GIVEN a field whose data source call (the command Lambda) is still running
    entered, release = threading.Event(), threading.Event()

    def slow_lambda(event):
        entered.set()
        release.wait(10)
        return {"id": "acc-1", "version": 1}

    backends.lambda_handler = slow_lambda
    outcomes = []
    running = threading.Thread(target=lambda: outcomes.append(
        executor.resolve(call("Query", "accountAt", id="acc-1", at="2024-01-01T00:00:00Z"))))
    running.start()
    assert entered.wait(10)

    # WHEN the resolver is reloaded meanwhile and a new field runs, then the first one is let go
    executor.reload({"lambda.js": edited(LAMBDA_JS, "{ ...ctx.result, version: 99 }")})
    backends.lambda_handler = lambda event: {"id": "acc-1", "version": 1}
    fresh = executor.resolve(call("Query", "accountAt", id="acc-1", at="2024-01-01T00:00:00Z"))
    release.set()
    running.join(10)

    # THEN the new field ran the new response handler, the one in flight the old one
    assert (fresh.data["version"], outcomes[0].data["version"]) == (99, 1)


def test_code_that_does_not_load_is_refused_and_the_old_code_keeps_serving(executor):
    # GIVEN a serving executor
    # WHEN the resolver is saved with a syntax error
    with pytest.raises(ResolverRuntimeError) as raised:
        executor.reload({"Query.account.js": ACCOUNT_JS.replace("export function response(ctx) {",
                                                                "export function response(ctx) {{", 1)})

    # THEN the error names the file, and the code it had still serves
    assert raised.value.code_file == "Query.account.js"
    assert executor.resolve(call("Query", "account", id="acc-1")).data == account("acc-1")
