"""Tags every taggable resource of a tenant carries."""

from __future__ import annotations

from collections.abc import Mapping

MANAGED_BY = "tenantry"


def tenant_tags(tenant: str, tier: str, extra: Mapping[str, str]) -> dict[str, str]:
    return {**dict(sorted(extra.items())), "tenant": tenant, "tier": tier, "managed-by": MANAGED_BY}
