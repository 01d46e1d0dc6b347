"""A browser page from another origin calls a tenant's GraphQL API with `fetch` (CORS as AppSync).

Headless Debian Chromium (Python playwright, never a downloaded browser) opens a static page served
by a Python http.server on a port of its own, so every call is cross-origin: `Authorization`
(alice's ID token, raw, as a signed-in frontend sends it) and `content-type: application/json` make
each one preflighted. The page writes what it got into the DOM; the test reads it there and saves a
screenshot under test-results/.
"""

from __future__ import annotations

import functools
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e.frontends import CHROMIUM, CHROMIUM_ARGS, CLIENT_DOCUMENTS, SCREENSHOTS, require_chromium, serve
from tests.e2e.support import DevServer, uid, user_token
from tests.functional.local_support.tokens import tampered

pytestmark = pytest.mark.e2e

PAGE_TIMEOUT_MS = 30_000

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Tenantry from another origin</title>
<style>
  body { font: 15px system-ui, sans-serif; margin: 2em; }
  td, th { border: 1px solid #999; padding: .3em .6em; text-align: left; }
  table { border-collapse: collapse; margin-bottom: 1em; }
  pre { background: #f4f4f4; padding: 1em; font-size: 12px; }
</style></head>
<body>
<h1>acme, called from another origin</h1>
<table><thead><tr><th>call</th><th>HTTP status</th><th>x-amzn-ErrorType</th><th>result</th></tr></thead>
<tbody id="calls"></tbody></table>
<pre id="results">running...</pre>
<script type="application/json" id="config">__CONFIG__</script>
<script>
const config = JSON.parse(document.getElementById('config').textContent);

async function call(name, query, variables, token) {
  const response = await fetch(config.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: token },
    body: JSON.stringify({ query, variables }),
  });
  const outcome = {
    status: response.status,
    errorType: response.headers.get('x-amzn-ErrorType'),
    requestId: response.headers.get('x-amzn-RequestId'),
    body: await response.json(),
  };
  const row = document.createElement('tr');
  for (const cell of [name, outcome.status, outcome.errorType ?? '',
                      JSON.stringify(outcome.body.data ?? outcome.body.errors)]) {
    row.appendChild(document.createElement('td')).textContent = String(cell);
  }
  document.getElementById('calls').appendChild(row);
  return outcome;
}

(async () => {
  const results = { origin: location.origin };
  try {
    const id = config.accountId;
    results.open = await call('openAccount', config.documents.open,
      { input: { accountId: id, currency: 'EUR', commandId: id + '-open' } }, config.token);
    // The read model follows the event store asynchronously: ask again until it is there (bounded).
    for (let attempt = 1; ; attempt++) {
      results.account = await call('account', config.documents.account, { id }, config.token);
      if (results.account.body.data?.account || attempt >= 100) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    results.tampered = await call('account, tampered token', config.documents.account, { id }, config.tamperedToken);
  } catch (error) {
    results.error = String(error);
  }
  document.getElementById('results').textContent = JSON.stringify(results, null, 2);
  document.body.dataset.done = 'true';
})();
</script>
</body>
</html>
"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass


@pytest.fixture(scope="module")
def plain_dev(tmp_path_factory) -> DevServer:
    require_chromium()
    yield from serve(tmp_path_factory.mktemp("browser"))


@pytest.fixture
def page_origin(tmp_path: Path):
    """A static file server for `tmp_path` on a free loopback port: another origin than the API's."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_a_page_from_another_origin_calls_the_api_and_reads_the_error_type(plain_dev, page_origin, tmp_path):
    from playwright.sync_api import sync_playwright

    # GIVEN a page on another origin whose script knows acme's GraphQL URL and alice's ID token,
    # and the same token with its payload edited to say bob (the signature no longer matches)
    acme, account = plain_dev.tenants["acme"], uid("browser")
    token = user_token(acme, "alice")
    config = {"graphqlUrl": acme.graphql_url, "token": token, "tamperedToken": tampered(token, sub=acme.sub("bob")),
              "accountId": account, "documents": CLIENT_DOCUMENTS}
    # (`<\/` for `</`: the JSON cannot close its script element early)
    (tmp_path / "index.html").write_text(PAGE.replace("__CONFIG__", json.dumps(config).replace("</", "<\\/")))
    assert page_origin != f"http://{acme.host}"
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            problems: list[str] = []      # what the browser said, for a failure's message
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}"))
            # WHEN the page loads and its script calls openAccount, account, and account with the tampered token
            page.goto(f"{page_origin}/index.html")
            page.wait_for_selector("body[data-done=true]", timeout=PAGE_TIMEOUT_MS)
            results = json.loads(page.text_content("#results"))
            page.screenshot(path=str(SCREENSHOTS / "browser-cors.png"), full_page=True)
        finally:
            browser.close()
    # THEN no call was blocked (CORS let every request and response through)
    assert "error" not in results, f"{results['error']}; browser said: {problems}"
    assert results["origin"] == page_origin
    # AND the account was opened and read back, and the exposed x-amzn-RequestId was readable
    assert results["open"]["status"] == 200, results["open"]
    assert results["open"]["body"]["data"]["openAccount"] == {
        "accountId": account, "version": 1, "balance": 0, "commandId": f"{account}-open"}
    assert results["open"]["requestId"]
    assert results["open"]["errorType"] is None
    assert results["account"]["status"] == 200
    assert {k: results["account"]["body"]["data"]["account"][k] for k in ("id", "ownerId", "currency", "balance")} \
        == {"id": account, "ownerId": acme.sub("alice"), "currency": "EUR", "balance": 0}
    # AND the tampered token is refused with x-amzn-ErrorType readable by the page (exposed by CORS)
    assert results["tampered"]["status"] == 401
    assert results["tampered"]["errorType"] == "UnauthorizedException"
    assert results["tampered"]["body"]["errors"][0]["errorType"] == "UnauthorizedException"
    assert "data" not in results["tampered"]["body"]
    plain_dev.assert_alive()
