"""The switch of a blue/green rebuild: the tenant file names the rebuilt slot as active, then the
declaration is re-applied (`pulumi up` on AWS; the running `tenantry dev` locally).

The tenant file is edited as text, not re-dumped, so comments, key order and formatting survive;
only the top-level `read_models:` block is rewritten (or appended). The result is validated with
the tenant model before it replaces the file (atomically).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from tenantry.config import TenantConfig, parse_tenant
from tenantry.local.devstate import CONTROL_KEY_HEADER

_BLOCK = re.compile(r"^read_models:[^\n]*\n?(?:(?:[ \t]+[^\n]*|[ \t]*#[^\n]*|[ \t]*)\n?)*?(?=^\S|\Z)", re.MULTILINE)


class SwitchError(Exception):
    def __init__(self, tenant: str, reason: str) -> None:
        super().__init__(f"{tenant}: {reason}")
        self.tenant = tenant
        self.reason = reason


def with_active_slot(text: str, slot: str) -> str:
    """`text` (a tenant file) with `read_models: {active: <slot>, standby: true}`."""
    block = f"read_models:\n  active: {slot}\n  standby: true\n"
    if _BLOCK.search(text):
        return _BLOCK.sub(lambda _: block, text, count=1)
    return text + ("" if text.endswith("\n") or not text else "\n") + block


def switch_tenant_file(file: Path, slot: str) -> TenantConfig:
    """Rewrite `file` so `slot` is active (the other slot stays declared as the standby)."""
    text = with_active_slot(file.read_text(encoding="utf-8"), slot)
    config = parse_tenant(yaml.safe_load(text), file)      # never write a file that would not load
    tmp = file.with_suffix(".yaml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(file)
    return config


def apply_url(dev_json: Path, tenant: str) -> tuple[str, str]:
    """`POST` here (with the run's control key) makes a running `tenantry dev` re-apply the
    tenant's declaration; returns the URL and the key."""
    try:
        info = json.loads(dev_json.read_text(encoding="utf-8"))
        graphql_url, control_key = info["tenants"][tenant]["graphql_url"], info["control_key"]
    except (OSError, ValueError, KeyError) as exc:
        raise SwitchError(tenant, f"no running `tenantry dev` serving it in {dev_json}") from exc
    base = graphql_url.rsplit(f"/{tenant}/graphql", 1)[0]
    return f"{base}/_tenantry/{tenant}/apply", control_key


def apply_local(dev_json: Path, tenant: str, timeout: float = 120.0) -> dict:
    """Ask the running `tenantry dev` to re-apply the tenant file (the local `pulumi up`)."""
    url, control_key = apply_url(dev_json, tenant)
    request = urllib.request.Request(url, data=b"{}", method="POST", headers={
        "content-type": "application/json", CONTROL_KEY_HEADER: control_key})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        raise SwitchError(tenant, f"tenantry dev refused to apply the new declaration: {detail}") from exc
    except urllib.error.URLError as exc:
        raise SwitchError(tenant, f"tenantry dev is not reachable: {exc.reason}") from exc
