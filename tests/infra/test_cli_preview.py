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


def test_preview_json_is_the_declared_inventory_with_secrets_redacted(capsys):
    assert main(["--root", str(ROOT), "preview", "--tenant", "acme", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    types = {r["type"] for r in doc["resources"]}
    assert {"aws:dynamodb/table:Table", "aws:lambda/eventSourceMapping:EventSourceMapping",
            "aws:appsync/graphQLApi:GraphQLApi"} <= types
    assert doc["stack_outputs"]["api_key"] == "[secret]"
    keys = [r for r in doc["resources"] if r["type"] == "aws:appsync/apiKey:ApiKey"]
    assert all(k["outputs"]["key"] == "[secret]" for k in keys)


def test_preview_of_a_bad_tenant_names_the_file(capsys):
    assert main(["--root", str(ROOT), "preview", "--tenant", "nosuchtenant"]) == 1
    assert "nosuchtenant.yaml" in capsys.readouterr().err
