"""AWS's own APPSYNC_JS lint rules over every resolver file (what AppSync rejects fails here)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tenantry.appsync.spec import RESOLVER_DIR

pytestmark = pytest.mark.functional

ESLINT = RESOLVER_DIR / "node_modules" / ".bin" / "eslint"


def test_resolvers_pass_the_appsync_eslint_plugin():
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH: install Node.js, then `npm ci --prefix resolvers`")
    if not ESLINT.exists():
        pytest.skip("resolvers/node_modules is missing: run `npm ci --prefix resolvers`")
    # GIVEN the resolver files WHEN eslint runs with @aws-appsync/eslint-plugin's recommended rules
    run = subprocess.run([str(ESLINT), "--max-warnings", "0", "."], cwd=RESOLVER_DIR,
                         capture_output=True, text=True, timeout=300)
    # THEN nothing is reported
    assert run.returncode == 0, run.stdout + run.stderr
