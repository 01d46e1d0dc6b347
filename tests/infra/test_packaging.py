"""The Lambda package is deterministic: same sources, same bytes, same hash (no phantom updates)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from tenantry.components.packaging import FIXED_DATE, build_package, zip_bytes

pytestmark = pytest.mark.infra


@pytest.fixture
def project(tmp_path: Path) -> Path:
    pkg = tmp_path / "lambdas"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "mod.py").write_text("X = 1\n")
    (pkg / "notes.txt").write_text("not code")
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "junk.py").write_text("")
    return tmp_path


def test_same_sources_give_the_same_bytes_whatever_the_mtimes(project):
    first = zip_bytes(project / "lambdas")
    os.utime(project / "lambdas" / "sub" / "mod.py", (1, 1))
    second = zip_bytes(project / "lambdas")
    assert first == second


def test_only_python_sources_sorted_with_fixed_metadata(project):
    package = build_package(project)
    with zipfile.ZipFile(package.path) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == ["lambdas/__init__.py", "lambdas/sub/__init__.py", "lambdas/sub/mod.py"]
    assert {i.date_time for i in infos} == {FIXED_DATE}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    assert package.path == project / ".tenantry" / "build" / "lambdas.zip"


def test_a_code_change_changes_the_hash(project):
    before = build_package(project).source_code_hash
    (project / "lambdas" / "sub" / "mod.py").write_text("X = 2\n")
    assert build_package(project).source_code_hash != before
