"""The `tenantry dev` command itself: dev.json, the README snippet, busy port, clean stop."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.e2e import documents as doc
from tests.e2e.support import ROOT, TENANTRY, USERS, Api, free_port, start_dev, stop_dev
from tests.functional.local_support.tokens import claims_of

pytestmark = pytest.mark.e2e

QUICKSTART = ROOT / "README.md"


def test_dev_json_lists_every_tenant_with_its_endpoints_pool_and_dev_users(dev):
    for name, endpoint in dev.tenants.items():
        assert endpoint.graphql_url.endswith(f"/{name}/graphql")
        assert endpoint.realtime_url.startswith("ws://") and endpoint.realtime_url.endswith(f"/{name}/graphql/realtime")
        assert endpoint.api_key is None            # the example tenants declare no API key
        assert endpoint.issuer == f"https://cognito-idp.{endpoint.region}.amazonaws.com/{endpoint.user_pool_id}"
        assert set(endpoint.users) == set(USERS)
        assert endpoint.users["ops"]["groups"] == ["admins"] and endpoint.users["alice"]["groups"] == []
        assert endpoint.users["alice"]["username"] == f"alice@{name}.dev.local"
        # the archive bucket as declared (autonamed), for `tenantry replay` / `redrive` locally
        assert re.fullmatch(rf"tenantry-{name}-archive-[0-9a-f]{{7}}", endpoint.archive_bucket)
    assert {"acme", "globex"} <= set(dev.tenants)
    subs = [u["sub"] for e in dev.tenants.values() for u in e.users.values()]
    assert len(set(subs)) == len(subs)


def test_output_prints_each_endpoint_and_dev_user_before_ready(dev):
    before_ready = dev.output[: dev.output.index("ready")]
    for endpoint in dev.tenants.values():
        for value in (endpoint.graphql_url, endpoint.realtime_url, endpoint.user_pool_id,
                      *(u["username"] for u in endpoint.users.values())):
            assert any(value in line for line in before_ready)


def test_tenantry_token_prints_a_token_the_server_accepts(dev, acme):
    # WHEN `tenantry token` signs alice in
    done = subprocess.run([*TENANTRY, "token", "--tenant", "acme", "--user", "alice", "--dev-json",
                           str(dev.dev_json)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    # THEN it is alice's ID token, and the API takes it
    assert claims_of(token)["sub"] == acme.sub("alice") and claims_of(token)["token_use"] == "id"
    assert Api(acme, headers={"Authorization": token}).execute(doc.GET_ACCOUNT, {"id": "nobody"}) == {"account": None}


def test_tenantry_token_names_the_dev_users_of_an_unknown_one(dev):
    done = subprocess.run([*TENANTRY, "token", "--tenant", "acme", "--user", "carol", "--dev-json",
                           str(dev.dev_json)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "no dev user 'carol'" in done.stderr and "alice, bob, ops" in done.stderr


def project(folder, server) -> None:
    """A project root whose .tenantry/dev.json is `server`'s (what the README's snippets read)."""
    (folder / ".tenantry").mkdir(parents=True)
    shutil.copy(server.dev_json, folder / ".tenantry" / "dev.json")
    shutil.copy(ROOT / "Pulumi.yaml", folder / "Pulumi.yaml")      # where `tenantry` finds the root
    (folder / ".venv").symlink_to(ROOT / ".venv", target_is_directory=True)


def test_readme_python_snippet_runs(dev, tmp_path):
    # GIVEN the quickstart's Python block, run from a directory whose .tenantry/dev.json is this server's
    snippet = re.search(r"```python\n(.*?)```", QUICKSTART.read_text(), re.S).group(1)
    project(tmp_path, dev)
    (tmp_path / "snippet.py").write_text(snippet)
    # WHEN it runs THEN it sees the deposit arrive on the subscription
    done = subprocess.run([sys.executable, "snippet.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "'balance': 4200" in done.stdout


def test_readme_tls_snippet_runs(tmp_path):
    # GIVEN tenantry dev --tls, and the README's Python block for it, run where .tenantry/dev.json is its
    server = start_dev(tmp_path, free_port(), "--tls", "--tenant", "acme")
    try:
        text = QUICKSTART.read_text()
        snippet = re.search(r"```python\n(.*?)```", text[text.index("### Browsers, Amplify and TLS"):], re.S).group(1)
        folder = tmp_path / "project"
        project(folder, server)
        (folder / "snippet.py").write_text(snippet)
        # WHEN it runs THEN it reaches the API over https, trusting the local CA
        done = subprocess.run([sys.executable, "snippet.py"], cwd=folder, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "{'account': None}" in done.stdout
        assert json.loads(server.dev_json.read_text())["tenants"]["acme"]["graphql_url"].startswith("https://")
    finally:
        assert stop_dev(server) == 0


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_curl_snippet_opens_an_account(dev, tmp_path):
    # GIVEN the quickstart's shell block that calls curl, and this server's dev.json
    snippet = next(b for b in re.findall(r"```sh\n(.*?)```", QUICKSTART.read_text(), re.S) if "curl" in b)
    project(tmp_path, dev)
    # WHEN it runs (twice: the commandId makes the second a harmless repeat)
    for _ in range(2):
        done = subprocess.run(["bash", "-c", snippet], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        # THEN the account is opened, at version 1, both times
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["data"]["openAccount"]["version"] == 1


def test_busy_port_is_a_clear_error_with_exit_code_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run([*TENANTRY, "dev", "--port", str(port)], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
    assert done.returncode == 2
    assert f"127.0.0.1:{port}" in done.stderr and "already in use" in done.stderr


def test_sigterm_stops_cleanly(tmp_path):
    server = start_dev(tmp_path, free_port(), "--tenant", "globex")
    assert set(server.tenants) == {"globex"}
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=60) == 0


def test_unknown_tenant_is_refused(tmp_path):
    done = subprocess.run([*TENANTRY, "dev", "--port", str(free_port()), "--tenant", "nope",
                           "--dev-json", str(tmp_path / "d.json"), "--state-dir", str(tmp_path / "state")],
                          cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ})
    assert done.returncode == 1
    assert "nope" in done.stderr


def test_kill_9_leftovers_are_removed_by_the_next_start(tmp_path):
    # GIVEN a run killed with SIGKILL: it could not remove its dev.json nor its scratch folder
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    first = start_dev(tmp_path, free_port(), "--tenant", "globex", env={"TMPDIR": str(scratch)})
    first.process.kill()
    first.process.wait()
    assert first.dev_json.exists() and list(scratch.glob("tenantry-dev-*"))
    # WHEN the next run starts with the same dev.json
    second = start_dev(tmp_path, free_port(), "--tenant", "globex", env={"TMPDIR": str(scratch)})
    try:
        # THEN it says it removed both, and only its own folder is left
        assert any(f"removed {first.dev_json}" in line for line in second.output)
        assert any("tenantry-dev-" in line and "removed" in line for line in second.output)
        assert [p.name.split("-")[2] for p in scratch.glob("tenantry-dev-*")] == [str(second.process.pid)]
        assert json.loads(second.dev_json.read_text())["pid"] == second.process.pid
    finally:
        assert stop_dev(second) == 0
    # AND a clean stop removes what the run made
    assert not second.dev_json.exists() and not list(scratch.glob("tenantry-dev-*"))


def test_the_first_sigint_during_start_up_stops_it(tmp_path):
    # GIVEN tenantry dev in the middle of its start-up (declaring the Pulumi program)
    process = subprocess.Popen([*TENANTRY, "dev", "--port", str(free_port()), "--dev-json", str(tmp_path / "d.json"),
                                "--state-dir", str(tmp_path / "state")],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "declare:" in line:      # the start-up step line: `acme    declare: N resources ...`
            break
    # WHEN one SIGINT arrives THEN it stops, exit 0, without a second signal
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, "".join(lines) + output
    assert "stopped" in output and not (tmp_path / "d.json").exists()


def test_log_format_json_prints_one_json_object_per_operation(tmp_path):
    server = start_dev(tmp_path, free_port(), "--tenant", "globex", "--log-format", "json")
    try:
        Api(server.tenants["globex"]).execute(doc.GET_ACCOUNT, {"id": "nobody"})
        deadline = time.monotonic() + 30
        while not any('"kind": "graphql"' in line for line in server.output) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        assert stop_dev(server) == 0
    events = [json.loads(line) for line in server.output if line.startswith("{") and '"kind"' in line]
    assert {"kind": "graphql", "tenant": "globex", "what": "Query.account", "outcome": "ok"}.items() \
        <= next(e for e in events if e["kind"] == "graphql").items()


def test_text_output_has_one_line_per_operation(dev, acme):
    Api(acme).execute(doc.GET_ACCOUNT, {"id": "nobody-here"})
    deadline = time.monotonic() + 30
    while not any("Query.account" in line for line in dev.output) and time.monotonic() < deadline:
        time.sleep(0.1)
    line = next(line for line in dev.output if "acme" in line and "Query.account" in line)
    assert line.rstrip().endswith("ok") and not line.lstrip().startswith("{")
