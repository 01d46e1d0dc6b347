"""The console `tenantry dev` serves at /<tenant>/, driven in headless Chromium as a developer uses
it: sign in as a dev user, open an account, watch its balance change live after a deposit made by
another client, travel back in its history, switch user, open GraphiQL. Screenshots go to
test-results/ (console-*.png)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e import documents as doc
from tests.e2e.frontends import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, require_chromium, serve
from tests.e2e.support import Api, DevServer, uid

pytestmark = pytest.mark.e2e

STEP_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def dev(tmp_path_factory) -> DevServer:
    require_chromium()
    from tenantry import console
    if not console.installed():
        pytest.skip("the console's GraphiQL is not installed (`make install` runs npm ci; it needs Node)")
    yield from serve(tmp_path_factory.mktemp("console"))


def row_cell(page, account_id: str, column: str) -> str:
    return page.text_content(f'#accounts tr[data-account-id="{account_id}"] td.{column}') or ""


def test_a_developer_signs_in_opens_an_account_and_watches_it_live(dev):
    from playwright.sync_api import sync_playwright

    acme = dev.tenants["acme"]
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        problems: list[str] = []
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(STEP_TIMEOUT_MS)
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            # GIVEN acme's console, signed in as its first dev user (alice) with live updates on
            page.goto(f"http://{acme.host}/acme/")
            page.wait_for_selector("#live.on")
            assert page.input_value("#caller") == "alice"
            # WHEN alice opens an account with 100.00 from the page
            page.fill('#open-account input[name="initialDeposit"]', "10000")
            page.click("#open-account button")
            row = page.wait_for_selector("#accounts tbody tr[data-account-id]")
            account_id = row.get_attribute("data-account-id")
            page.wait_for_function(
                f"document.querySelector('#accounts tr[data-account-id=\"{account_id}\"] td.balance')"
                ".textContent === '100.00 EUR'")
            page.screenshot(path=str(SCREENSHOTS / "console-accounts.png"))
            # AND another client (alice's own, elsewhere) deposits 25.00
            # (on a thread of its own: Playwright's sync API keeps an event loop on this one)
            deposit = {"input": {"accountId": account_id, "amount": 2500, "commandId": uid("console")}}
            with ThreadPoolExecutor(1) as elsewhere:
                elsewhere.submit(Api(acme, "alice").execute, doc.DEPOSIT, deposit).result()
            # THEN the page shows the new balance without a reload
            page.wait_for_function(
                f"document.querySelector('#accounts tr[data-account-id=\"{account_id}\"] td.version')"
                ".textContent === '2'")
            assert row_cell(page, account_id, "balance") == "125.00 EUR"
            page.screenshot(path=str(SCREENSHOTS / "console-live-update.png"))
            # WHEN alice opens the account and moves the time-travel slider back to version 1
            page.click(f'#accounts tr[data-account-id="{account_id}"] a')
            page.wait_for_selector("#ledger tbody tr:nth-child(2)")
            page.wait_for_function("document.querySelector('#travel-balance').textContent === '125.00 EUR'")
            page.eval_on_selector("#travel", "el => { el.value = '1'; el.dispatchEvent(new Event('input')); }")
            # THEN the account as of version 1 is shown: the opening deposit only
            page.wait_for_function("document.querySelector('#travel-balance').textContent === '100.00 EUR'")
            assert page.text_content("#travel-version") == "1"
            assert page.query_selector("#chart svg polyline, #chart polyline") is not None
            page.screenshot(path=str(SCREENSHOTS / "console-time-travel.png"))
            # WHEN bob signs in instead THEN alice's account is not his to see
            page.select_option("#caller", "bob")
            page.wait_for_function("document.querySelector('#messages').textContent.includes('signed in as bob')")
            page.wait_for_selector("#live.on")
            assert page.query_selector(f'#accounts tr[data-account-id="{account_id}"]') is None
            # WHEN bob runs the LiveBalances subscription in GraphiQL (AppSync's real-time protocol,
            # from the browser) and a deposit lands on an account of his
            bobs = uid("bob")
            with ThreadPoolExecutor(1) as elsewhere:
                elsewhere.submit(Api(acme, "bob").execute, doc.OPEN, {"input": {
                    "accountId": bobs, "currency": "EUR", "initialDeposit": 100, "commandId": uid("o")}}).result()
            page.click("#tab-graphiql")
            page.wait_for_selector(".graphiql-container .graphiql-editor")
            # (the subscription's start_ack has no sign in the DOM: wait for it on the socket; a
            # frame that came before the wait began is in `acks`, which the collector fills)
            acks: list[str] = []
            started = lambda frame: '"start_ack"' in str(frame)   # noqa: E731
            page.on("websocket", lambda ws: ws.on("framereceived", lambda f: acks.append(f) if started(f) else None))
            with page.expect_websocket() as opened:
                page.click(".graphiql-execute-button")
                page.get_by_role("menuitem", name="LiveBalances").click()
            if not acks:
                opened.value.wait_for_event("framereceived", started)
            with ThreadPoolExecutor(1) as elsewhere:
                elsewhere.submit(Api(acme, "bob").execute, doc.DEPOSIT, {"input": {
                    "accountId": bobs, "amount": 700, "commandId": uid("d")}}).result()
            # THEN the update shows in GraphiQL's result pane
            page.wait_for_function("document.querySelector('.graphiql-response')?.textContent.includes('800')")
            assert bobs in page.text_content(".graphiql-response")
            page.screenshot(path=str(SCREENSHOTS / "console-graphiql.png"))
        finally:
            browser.close()
    assert problems == []
    dev.assert_alive()
