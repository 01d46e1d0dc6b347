"""Hot reload: a running `tenantry dev` serves edited resolvers and Lambdas from the next request.

The server runs a throwaway copy of the whole project (`copy_whole_project`): these tests edit
that copy's files, never this checkout's. Each test restores what it edited.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.support import Api, DevServer, copy_whole_project, eventually, free_port, start_dev, stop_dev, uid

pytestmark = pytest.mark.e2e

BAD_ID = '{ account(id: "bad id!") { id } }'
DEPOSIT = "mutation($i: MoneyInput!) { deposit(input: $i) { version } }"
WAIT_S = 30.0        # a generous ceiling for a loaded machine, not a performance check


@pytest.fixture(scope="module")
def copied(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    return copy_whole_project(tmp_path_factory.mktemp("reload") / "project")


@pytest.fixture(scope="module")
def project(copied) -> Path:
    return copied[0]


@pytest.fixture(scope="module")
def server(copied, tmp_path_factory) -> Iterator[DevServer]:
    root, env = copied
    running = start_dev(tmp_path_factory.mktemp("dev"), free_port(), cwd=root, env=env)
    yield running
    assert stop_dev(running) == 0


@contextmanager
def edited(path: Path, old: str, new: str) -> Iterator[None]:
    """`path` with `old` replaced by `new` (restored afterwards)."""
    original = path.read_text()
    assert old in original, f"{path.name} should contain {old!r}"
    path.write_text(original.replace(old, new, 1))
    try:
        yield
    finally:
        path.write_text(original)


def output_since(server: DevServer, start: int, text: str) -> str:
    return eventually(lambda: next((line for line in server.output[start:] if text in line), None), bool)


def message(api: Api, query: str, variables: dict | None = None) -> str:
    try:
        api.execute(query, variables)
    except Exception as exc:   # gql raises TransportQueryError with the GraphQL errors
        return exc.errors[0]["message"]            # type: ignore[attr-defined]
    raise AssertionError("the request was expected to fail")


def deposit_to_nobody(api: Api) -> str:
    return message(api, DEPOSIT, {"i": {"accountId": uid("nobody"), "amount": 5, "commandId": uid()}})


def test_an_edited_resolver_serves_the_next_request(server, project):
    # GIVEN a request served by Query.account's resolver
    api = Api(server.tenants["acme"])
    assert message(api, BAD_ID).startswith("id must match")
    mark = len(server.output)

    # WHEN the resolver's error message is edited
    with edited(project / "resolvers" / "Query.account.js", "'id must match", "'hot: id must match"):
        # THEN a later request gets the new message, without a restart
        eventually(lambda: message(api, BAD_ID), lambda m: m.startswith("hot:"))
        # AND the dev server says what reloaded, for which tenants
        assert "reloaded resolvers/Query.account.js (acme, globex)" in output_since(server, mark, "reloaded resolvers")
    # AND putting the file back brings the old behaviour back
    eventually(lambda: message(api, BAD_ID), lambda m: m.startswith("id must match"))


def test_an_edited_lambda_module_serves_the_next_invocation(server, project):
    # GIVEN the command Lambda's answer to a deposit on an account that does not exist
    api = Api(server.tenants["globex"])
    assert deposit_to_nobody(api).endswith("does not exist")
    mark = len(server.output)

    # WHEN a module it imports (not the handler itself) is edited
    with edited(project / "lambdas" / "banking" / "errors.py", 'does not exist")', 'does not exist (hot)")'):
        # THEN the next invocation runs the new code
        eventually(lambda: deposit_to_nobody(api), lambda m: m.endswith("(hot)"))
        line = output_since(server, mark, "reloaded lambdas")
    # AND the output names the module and the functions that cold-started
    assert "1 module changed: lambdas/banking/errors.py" in line
    assert "acme: archiver, command, projector, publisher" in line
    # AND putting the file back brings the old behaviour back
    eventually(lambda: deposit_to_nobody(api), lambda m: m.endswith("does not exist"))


def test_a_reapply_after_a_hot_reload_takes_the_running_code_as_current(server, project):
    from tenantry.ops.switch import apply_local

    # GIVEN a resolver edited and hot-reloaded (its declared code now differs from the start-up one)
    api = Api(server.tenants["acme"])
    with edited(project / "resolvers" / "Query.account.js", "'id must match", "'hot: id must match"):
        eventually(lambda: message(api, BAD_ID), lambda m: m.startswith("hot:"))
        # WHEN the tenant is re-applied (what `tenantry replay` does after a switch)
        # THEN it is not refused for the code hot reload already serves
        assert apply_local(server.dev_json, "acme") is not None
    # (the file back as it was, served again, for the tests after this one)
    eventually(lambda: message(api, BAD_ID), lambda m: m.startswith("id must match"))


def test_a_broken_edit_is_reported_and_the_previous_code_keeps_serving(server, project):
    # GIVEN a serving API
    api = Api(server.tenants["acme"])
    mark = len(server.output)

    # WHEN a Lambda module and a resolver are saved with syntax errors
    with edited(project / "lambdas" / "banking" / "errors.py", "class AccountNotFoundError(", "class (("), \
            edited(project / "resolvers" / "Query.account.js", "export function response(ctx) {",
                   "export function response(ctx) {{"):
        # THEN each is reported, naming the file
        lambda_line = output_since(server, mark, "lambdas do not load")
        resolver_line = output_since(server, mark, "keep serving the previous code")
        # AND requests are still served by the code that was there before
        assert message(api, BAD_ID).startswith("id must match")
        assert deposit_to_nobody(api).endswith("does not exist")
    assert "lambdas/banking/errors.py:12: SyntaxError" in lambda_line
    assert resolver_line.split("! ", 1)[1].startswith("resolvers/Query.account.js")


def test_a_tenant_file_edit_says_it_needs_a_restart(server, project):
    # GIVEN a running tenant
    mark = len(server.output)

    # WHEN its tenant file changes what the platform runs (the projector's batch size)
    with edited(project / "tenants" / "acme.yaml", "projector_batch_size: 100", "projector_batch_size: 50"):
        line = output_since(server, mark, "tenants/acme.yaml")

    # THEN the dev server says a restart is needed, and why, instead of applying half of it
    assert "restart tenantry dev" in line and "batchSize" in line


def test_reload_events_are_a_server_sent_event_stream(server, project):
    # GIVEN a client reading the dev server's event stream
    base = server.tenants["acme"].graphql_url.rsplit("/acme/", 1)[0]
    with urllib.request.urlopen(f"{base}/_tenantry/events", timeout=WAIT_S) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")

        # WHEN a resolver is edited
        with edited(project / "resolvers" / "Query.ledger.js", "// Query.ledger", "// Query.ledger (edited)"):
            event = eventually(lambda: _next_event(stream), lambda e: e and e["reload"] == "resolvers")

    # THEN the stream says what reloaded, for which tenants
    assert (event["files"], event["tenants"]) == (["resolvers/Query.ledger.js"], ["acme", "globex"])
    assert event["message"] == "reloaded resolvers/Query.ledger.js (acme, globex)"


def _next_event(stream) -> dict | None:
    line = stream.readline().decode()
    return json.loads(line[len("data: "):]) if line.startswith("data: ") else None


def test_the_console_says_what_reloaded(server, project):
    from playwright.sync_api import sync_playwright

    from tests.e2e.frontends import CHROMIUM, CHROMIUM_ARGS, require_chromium

    require_chromium()
    acme = server.tenants["acme"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # GIVEN acme's console, open and signed in
            page = browser.new_page()
            page.set_default_timeout(WAIT_S * 1000)
            page.goto(f"http://{acme.host}/acme/")
            page.wait_for_function("document.querySelector('#messages').textContent.includes('signed in as')")
            # WHEN a resolver is edited THEN the console's message line says what reloaded
            with edited(project / "resolvers" / "Query.ledger.js", "import { util }", "import { util  }"):
                page.wait_for_function("document.querySelector('#messages').textContent"
                                       ".includes('reloaded resolvers/Query.ledger.js')")
        finally:
            browser.close()
