"""`tenantry replay` and `tenantry redrive` in local mode, against a running `tenantry dev`."""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e import documents as doc
from tests.e2e.support import ROOT, TENANTRY, Api, eventually, uid

pytestmark = pytest.mark.e2e


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*TENANTRY, *args], cwd=ROOT, capture_output=True, text=True, timeout=180)


def test_replay_rebuilds_the_read_models_of_a_running_platform(dev, acme):
    # GIVEN an account with history, projected
    api = Api(acme)
    account = uid("acc")
    api.execute(doc.OPEN, {"input": {"accountId": account, "ownerId": uid("o"), "currency": "EUR", "commandId": uid("c")}})
    for amount in (5, 7):
        api.execute(doc.DEPOSIT, {"input": {"accountId": account, "amount": amount, "commandId": uid("c")}})
    eventually(lambda: api.execute(doc.GET_ACCOUNT, {"id": account})["account"], lambda a: a and a["version"] == 3)
    assert dev.emulator_url
    # WHEN the read models are replayed from the event store into fresh tables
    done = run("replay", "--tenant", "acme", "--endpoint-url", dev.emulator_url, "--no-switch")
    # THEN it verifies and reports what it rebuilt
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("replayed ")


def test_redrive_of_an_empty_failure_queue_is_a_no_op(dev):
    done = run("redrive", "--tenant", "acme", "--endpoint-url", dev.emulator_url)
    assert done.returncode == 0, done.stderr
    assert "redrove 0/0 messages" in done.stdout
