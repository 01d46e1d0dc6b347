"""`tenantry preview --tenant NAME [--json]`: offline, from the real program."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenantry.cli import main

pytestmark = pytest.mark.infra

ROOT = Path(__file__).resolve().parents[2]


def test_preview_prints_a_readable_inventory(capsys):
    assert main(["--root", str(ROOT), "preview", "--tenant", "globex"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Tenant globex: ")
    assert "handler=lambdas.handlers.projector.handler" in out
    assert "[tenantry-globex-events]" in out


SANDBOX = "name: sandy\nregion: eu-west-1\ntier: sandbox\nauth:\n  api_key: true\n"


@pytest.fixture
def sandbox_root(tmp_path: Path) -> Path:
    """A project root whose only tenant is a sandbox with an API key (the example tenants have none)."""
    for name in ("Pulumi.yaml", "lambdas", "resolvers", "schemas"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "tenants").mkdir()
    (tmp_path / "tenants" / "sandy.yaml").write_text(SANDBOX)
    return tmp_path


def test_preview_json_is_the_declared_inventory_with_secrets_redacted(capsys, sandbox_root):
    # GIVEN a sandbox tenant with an API key
    assert main(["--root", str(sandbox_root), "preview", "--tenant", "sandy", "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    types = {r["type"] for r in doc["resources"]}
    assert {"aws:dynamodb/table:Table", "aws:lambda/eventSourceMapping:EventSourceMapping",
            "aws:appsync/graphQLApi:GraphQLApi", "aws:cognito/userPool:UserPool"} <= types
    # THEN the key is redacted everywhere, and the preview warns that it is a full-access credential
    assert doc["stack_outputs"]["api_key"] == "[secret]"
    keys = [r for r in doc["resources"] if r["type"] == "aws:appsync/apiKey:ApiKey"]
    assert len(keys) == 1 and all(k["outputs"]["key"] == "[secret]" for k in keys)
    assert "auth.api_key is on" in captured.err


def test_example_tenants_have_users_and_no_api_key(capsys):
    for tenant in ("acme", "globex"):
        assert main(["--root", str(ROOT), "preview", "--tenant", tenant, "--json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        types = [r["type"] for r in doc["resources"]]
        assert "aws:appsync/apiKey:ApiKey" not in types and "api_key" not in doc["stack_outputs"]
        assert {"user_pool_id", "user_pool_client_id", "issuer"} <= set(doc["stack_outputs"])


def test_preview_of_a_bad_tenant_names_the_file(capsys):
    assert main(["--root", str(ROOT), "preview", "--tenant", "nosuchtenant"]) == 1
    assert "nosuchtenant.yaml" in capsys.readouterr().err
