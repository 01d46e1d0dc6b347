"""`tenantry tenant new|list` and `tenantry validate` against a scratch project."""

from __future__ import annotations

import pytest
import yaml

from tenantry.cli import SUBCOMMAND_MODULES, main
from tenantry.config import load_tenant

pytestmark = pytest.mark.unit


@pytest.fixture
def project(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: tenantry\nruntime: python\n")
    (tmp_path / "tenants").mkdir()
    return tmp_path


def run(project, *argv):
    return main(["--root", str(project), *argv])


def test_new_scaffolds_a_valid_tenant_and_its_stack_file(project, capsys):
    assert run(project, "tenant", "new", "initech", "--region", "us-west-2") == 0
    config = load_tenant(project / "tenants" / "initech.yaml")
    assert (config.name, config.region) == ("initech", "us-west-2")
    stack = yaml.safe_load((project / "Pulumi.initech.yaml").read_text())
    assert stack == {"config": {"aws:region": "us-west-2"}}
    assert run(project, "validate") == 0


def test_new_refuses_a_bad_name_and_an_existing_tenant(project, capsys):
    assert run(project, "tenant", "new", "Bad_Name") == 2
    assert run(project, "tenant", "new", "initech") == 0
    assert run(project, "tenant", "new", "initech") == 1
    assert "already exists" in capsys.readouterr().err


def test_list_shows_each_tenant(project, capsys):
    run(project, "tenant", "new", "initech")
    run(project, "tenant", "new", "umbrella", "--region", "us-east-1")
    capsys.readouterr()
    assert run(project, "tenant", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:2] for line in lines] == [["initech", "eu-west-1"], ["umbrella", "us-east-1"]]


def test_validate_reports_file_field_and_allowed_values(project, capsys):
    (project / "tenants" / "bad.yaml").write_text(yaml.safe_dump({"name": "bad", "region": "mars-1"}))
    assert run(project, "validate") == 1
    err = capsys.readouterr().err
    assert str(project / "tenants" / "bad.yaml") in err
    assert "region" in err and "eu-west-1" in err


def test_subcommand_modules_register_themselves():
    assert SUBCOMMAND_MODULES[:2] == ["tenantry.cli_tenant", "tenantry.cli_preview"]


def test_new_points_to_a_readme_section_that_documents_every_field(project):
    # GIVEN a scaffolded tenant file
    from pathlib import Path

    from tenantry.cli_tenant import FIELDS_DOC
    from tenantry.config import TenantConfig

    run(project, "tenant", "new", "initech")
    header = (project / "tenants" / "initech.yaml").read_text().splitlines()[0]
    doc, section = FIELDS_DOC
    assert f'{doc}, section "{section}"' in header
    # WHEN reading that section of the repository's README
    readme = (Path(__file__).resolve().parents[2] / doc).read_text()
    assert f"### {section}\n" in readme
    body = readme.split(f"### {section}\n", 1)[1].split("\n### ", 1)[0]
    # THEN it documents every field of the tenant file
    assert [f for f in TenantConfig.model_fields if f"`{f}`" not in body and f"`{f}." not in body] == []
