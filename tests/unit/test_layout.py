"""The layout and dependency rules of DESIGN section 1, executable."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def top_packages(path_glob: str) -> dict[Path, set[str]]:
    return {p: {name.split(".")[0] for name in imports_of(p)} for p in ROOT.glob(path_glob)}


def test_platform_is_a_source_folder_not_a_package():
    assert not (ROOT / "platform" / "__init__.py").exists()
    import platform

    assert Path(platform.__file__).parent != ROOT / "platform"


def test_no_top_level_name_shadows_the_standard_library():
    shadowing = []
    for entry in ROOT.iterdir():
        name = entry.stem if entry.suffix == ".py" else entry.name
        if name not in sys.stdlib_module_names:
            continue
        importable = entry.suffix == ".py" or (entry.is_dir() and (entry / "__init__.py").exists())
        if importable:
            shadowing.append(entry.name)
    assert shadowing == []


def test_lambdas_never_import_pulumi_or_tenantry():
    offenders = {p: names & {"pulumi", "pulumi_aws", "tenantry"} for p, names in top_packages("lambdas/**/*.py").items()}
    assert {str(p.relative_to(ROOT)): n for p, n in offenders.items() if n} == {}


def test_banking_depends_on_eventstore_never_the_reverse():
    offenders = [p for p, names in top_packages("lambdas/eventstore/**/*.py").items()
                 if any(n.startswith("lambdas.banking") or n.startswith("lambdas.handlers") for n in imports_of(p))]
    assert offenders == []
    offenders = [p for p in ROOT.glob("lambdas/banking/**/*.py") if any(n.startswith("lambdas.handlers") for n in imports_of(p))]
    assert offenders == []


@pytest.mark.parametrize("module", ["decide", "state", "events", "commands", "errors", "rules"])
def test_the_domain_imports_neither_boto3_nor_powertools(module):
    names = {n.split(".")[0] for n in imports_of(ROOT / "lambdas" / "banking" / f"{module}.py")}
    assert not names & {"boto3", "botocore", "aws_lambda_powertools"}


def test_every_python_package_is_listed_for_installation():
    # A package missing from pyproject installs fine in editable mode and vanishes from a wheel.
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT / "platform").parts) for p in ROOT.glob("platform/tenantry/**/__init__.py")}
    found |= {".".join(p.parent.relative_to(ROOT).parts) for p in ROOT.glob("lambdas/**/__init__.py")}
    assert found - listed == set()
