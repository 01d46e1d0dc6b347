"""What a `tenantry dev` run leaves on disk, and how the next run knows it is stale.

- `.tenantry/dev.json`: the running platform's endpoints, keys and dev users' credentials
  (owner-only), written at `ready`
  with the pid of the run, removed at a clean stop. A run killed with `kill -9` cannot remove it,
  so every start removes a dev.json whose run is gone before anything else happens: no client
  reads a dead run's URLs and keys while the new run starts.
- a scratch folder per run (`<tmp>/tenantry-dev-<pid>-*`: the declared resolver code), removed at
  a clean stop; folders of runs that are gone are removed at the next start.

- `.tenantry/state/<tenant>/`: what is kept between runs, the tenant's event log
  (`tenantry.local.state`), locked by the run that uses it; `--fresh` discards it.

Everything else (read models, streams, queues, buckets) lives in memory, in the embedded
emulator, and ends with the run; the read models are rebuilt from the event log at the next start.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

DEV_JSON = Path(".tenantry") / "dev.json"
STATE_DIR = Path(".tenantry") / "state"
# How `tenantry replay` proves to the dev server that it may re-apply a tenant (dev.json's key).
CONTROL_KEY_HEADER = "x-tenantry-control-key"
WORKDIR_PREFIX = "tenantry-dev-"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:      # somebody else's process: alive
        return True
    return True


def write_dev_json(path: Path, apis: dict[str, Any], *, emulator_url: str | None = None,
                   ca_file: Path | None = None, control_key: str | None = None) -> Path:
    """`apis`: tenant -> endpoints (a dataclass; None fields are left out). Written owner-only
    and atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document: dict = {"tenants": {name: {k: v for k, v in dataclasses.asdict(e).items() if v is not None}
                                  for name, e in sorted(apis.items())},
                      "pid": os.getpid()}
    if emulator_url:
        # For `tenantry replay` / `tenantry redrive` in local mode: the emulator behind the APIs;
        # also its Cognito endpoint (`tenantry token`, Amplify's `userPoolEndpoint`).
        document["emulator_url"] = emulator_url
    if control_key:
        document["control_key"] = control_key     # the dev server's re-apply route
    if ca_file:
        document["ca_file"] = str(ca_file)
    write_private_text(path, json.dumps(document, indent=2) + "\n")   # it holds API keys and passwords
    return path


def write_private_text(path: Path, text: str) -> None:
    """`text` into `path`, owner-only from the first byte (fchmod covers a tmp left by a crash),
    replaced atomically: readers never see a half-written file."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)
    tmp.replace(path)


def _owner(path: Path) -> int | None:
    try:
        pid = json.loads(path.read_text(encoding="utf-8")).get("pid")
    except (OSError, ValueError, AttributeError):
        return None
    return pid if isinstance(pid, int) else None


def clear_stale_dev_json(path: Path) -> bool:
    """Remove `path` (and a leftover .tmp) unless a live run wrote it. True when removed."""
    path.with_suffix(".tmp").unlink(missing_ok=True)
    if not path.exists():
        return False
    owner = _owner(path)
    if owner is not None and owner != os.getpid() and pid_alive(owner):
        return False
    path.unlink(missing_ok=True)
    return True


def remove_own_dev_json(path: Path) -> None:
    if _owner(path) == os.getpid():
        path.unlink(missing_ok=True)


def make_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-"))


def clear_stale_workdirs(parent: Path | None = None) -> list[Path]:
    """Remove the scratch folders of runs that are gone; the folders removed."""
    removed = []
    for folder in Path(parent or tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        pid = folder.name[len(WORKDIR_PREFIX):].split("-", 1)[0]
        if folder.is_dir() and pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
