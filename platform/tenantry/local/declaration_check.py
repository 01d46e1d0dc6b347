"""What an edited tenant file or schema needs from a running `tenantry dev`: nothing, a re-apply
in place, or a restart. It only says so; it applies nothing (`tenantry.local.reload`).

The tenant is declared again from the files as they are now (the Pulumi program, mock runtime) and
compared with the declaration the platform runs by `tenantry.local.reapply.plan`, the rule the
re-apply route (`POST /_tenantry/<tenant>/apply`) itself follows. Code that hot reload applies (a
resolver's code, the Lambda zip's hash) is left out of the comparison on both sides: it is not
something a restart or a re-apply would bring.
"""

from __future__ import annotations

from typing import Any

from tenantry.inventory import DeclaredResource

Verdict = tuple[str, str, dict[str, Any]]     # (unchanged|reapply|restart|error, line, detail)


def check(platform: Any, tenant: str, shown: str) -> Verdict:
    """`platform`: `tenantry.local.wiring.Platform` (its root and the tenants it runs)."""
    from tenantry.config import TenantConfigError, load_tenant_by_name

    if tenant not in platform.tenants:
        return ("restart", f"{shown}: {tenant} is not served by this tenantry dev; restart it "
                f"(with --tenant {tenant} if you name tenants) to serve it", {})
    try:
        config = load_tenant_by_name(platform.root, tenant)
    except TenantConfigError as exc:
        problems = " ".join(line.strip() for line in str(exc).splitlines()[1:] if line.strip())
        return ("error", f"{shown} is not valid ({problems or exc}); {tenant} keeps running the "
                "declaration it was started with", {"error": str(exc)})
    running = platform.tenants[tenant]
    if config.region != running.region:
        return _restart(shown, tenant, [f"region {running.region} -> {config.region}"])
    return _compare(shown, tenant, running.resources, platform.declare(config))


def _compare(shown: str, tenant: str, running: Any, declared: list[DeclaredResource]) -> Verdict:
    from tenantry.local import reapply

    try:
        plan = reapply.plan(tenant, running, declared, hot_reload=True)
    except reapply.UnappliableChangeError as exc:
        return _restart(shown, tenant, exc.changes)
    applied = plan.describe()
    if not any(applied.values()):
        return ("unchanged", f"{shown}: nothing {tenant} runs in tenantry dev has changed "
                "(only settings the local platform does not apply, if any)", {})
    return ("reapply", f"{shown}: {tenant} can take this in place ({_summary(applied)}): "
            f"POST /_tenantry/{tenant}/apply with the run's control key (as `tenantry replay` does), or restart "
            "tenantry dev", {"plan": applied})


def _restart(shown: str, tenant: str, changes: list[str]) -> Verdict:
    return ("restart", f"{shown}: restart tenantry dev to apply it ({tenant}: {'; '.join(changes)})",
            {"changes": changes})


def _summary(applied: dict) -> str:
    parts = []
    if applied["created_tables"]:
        parts.append(f"creates {', '.join(applied['created_tables'])}")
    if applied["data_sources"]:
        parts.append("re-points " + ", ".join(f"{k} -> {v}" for k, v in applied["data_sources"].items()))
    if applied["functions"]:
        parts.append(f"new environment for {', '.join(applied['functions'])}")
    return "; ".join(parts)
