"""The Pulumi program of one tenant stack. `__main__.py` calls it under the real engine (after reading
the stack's config); `tenantry.mocks.declare` calls it under the mock runtime."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_aws as aws

from .components.packaging import build_package
from .components.platform import TenantPlatform, TenantPlatformArgs
from .config import TenantConfig


def define_stack(config: TenantConfig, root: Path) -> TenantPlatform:
    # An explicit provider: the tenant file, not ambient config, decides the region.
    provider = aws.Provider(f"{config.name}-aws", region=config.region)
    identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider))
    platform = TenantPlatform(config.name, TenantPlatformArgs(
        config=config, account_id=identity.account_id, package=build_package(root)),
        pulumi.ResourceOptions(providers=[provider]))
    pulumi.export("graphql_url", platform.graphql_url)
    pulumi.export("realtime_url", platform.realtime_url)
    pulumi.export("api_key", platform.api_key)
    pulumi.export("events_table", platform.events_table)
    pulumi.export("accounts_table", platform.accounts_table)
    pulumi.export("ledger_table", platform.ledger_table)
    if platform.standby_accounts_table is not None:
        pulumi.export("standby_accounts_table", platform.standby_accounts_table)
        pulumi.export("standby_ledger_table", platform.standby_ledger_table)
    pulumi.export("stream_name", platform.stream_name)
    pulumi.export("bucket_name", platform.bucket_name)
    pulumi.export("failure_queue_urls", platform.failure_queue_urls)
    return platform
