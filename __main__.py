"""Pulumi entry point: one stack per tenant, the stack name is the tenant name.

This is the only place that reads Pulumi config. The tenant file is validated before anything is
declared, so a bad file fails `pulumi preview` with the file, field and allowed values.
"""

from pathlib import Path

import pulumi

from tenantry.config import TenantConfigError, load_tenant_by_name
from tenantry.program import define_stack

ROOT = Path(__file__).resolve().parent

try:
    tenant = load_tenant_by_name(ROOT, pulumi.get_stack())
except TenantConfigError as exc:
    # RunError prints the message without a Python traceback.
    raise pulumi.RunError(str(exc)) from exc

stack_region = pulumi.Config("aws").get("region")
if stack_region and stack_region != tenant.region:
    raise pulumi.RunError(
        f"Pulumi.{tenant.name}.yaml: aws:region is {stack_region!r} but tenants/{tenant.name}.yaml "
        f"says region {tenant.region!r}; the tenant file decides (allowed: {tenant.region!r} or unset)")

define_stack(tenant, ROOT)
