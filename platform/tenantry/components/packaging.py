"""Deterministic Lambda package: the same `lambdas/` sources always give the same zip bytes, so the
content hash (`source_code_hash`) only changes when code changes: no phantom updates."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

FIXED_DATE = (1980, 1, 1, 0, 0, 0)   # the earliest date a zip entry can hold
FILE_MODE = 0o100644                 # regular file, rw-r--r--
BUILD_DIR = Path(".tenantry") / "build"
ZIP_NAME = "lambdas.zip"


@dataclass(frozen=True)
class LambdaPackage:
    path: Path
    source_code_hash: str       # base64 SHA-256 of the zip, the form Lambda reports as CodeSha256


def source_files(package_dir: Path) -> list[Path]:
    files = [p for p in package_dir.rglob("*.py") if "__pycache__" not in p.parts]
    return sorted(files, key=lambda p: p.relative_to(package_dir.parent).as_posix())


def zip_bytes(package_dir: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in source_files(package_dir):
            name = path.relative_to(package_dir.parent).as_posix()
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, whatever the build host is
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    return buffer.getvalue()


def build_package(root: Path, package: str = "lambdas") -> LambdaPackage:
    """Zip `root/<package>` (with the package at the zip root) into `root/.tenantry/build/`."""
    data = zip_bytes(root / package)
    out_dir = root / BUILD_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / ZIP_NAME
    if not target.is_file() or target.read_bytes() != data:
        # Atomic replace: parallel test workers and tenants may build at the same time.
        fd, tmp = tempfile.mkstemp(dir=out_dir, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
    return LambdaPackage(path=target, source_code_hash=digest)
