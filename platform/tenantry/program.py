"""The Pulumi program of one tenant stack. `__main__.py` calls it under the real engine (after reading
the stack's config); `tenantry.mocks.declare` calls it under the mock runtime."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from .components.packaging import build_package
from .components.platform import TenantPlatform, TenantPlatformArgs
from .config import TenantConfig

# `aws:assumeRoles` entries as written in a stack file (camelCase) -> ProviderAssumeRoleArgs fields.
ASSUME_ROLE_FIELDS = {
    "roleArn": "role_arn", "sessionName": "session_name", "externalId": "external_id", "duration": "duration",
    "policy": "policy", "policyArns": "policy_arns", "sourceIdentity": "source_identity", "tags": "tags",
    "transitiveTagKeys": "transitive_tag_keys",
}


class AwsAccessError(ValueError):
    """Stack config for the AWS provider that this program cannot pass on."""

    def __init__(self, setting: str, problem: str, allowed: Sequence[str] = ()) -> None:
        self.setting, self.problem, self.allowed = setting, problem, tuple(allowed)
        suffix = f" (allowed: {', '.join(allowed)})" if allowed else ""
        super().__init__(f"aws:{setting}: {problem}{suffix}")


@dataclass(frozen=True)
class AwsAccess:
    """How the provider authenticates: the stack's `aws:profile` and `aws:assumeRoles`. An explicit
    provider ignores the stack's `aws:` config, so `__main__.py` reads them and passes them here."""

    profile: str | None = None
    assume_roles: tuple[Mapping[str, Any], ...] = field(default=())   # camelCase, as in the stack file

    def __post_init__(self) -> None:
        for i, role in enumerate(self.assume_roles):
            if not isinstance(role, Mapping):
                raise AwsAccessError(f"assumeRoles[{i}]", "must be a mapping")
            unknown = sorted(set(role) - set(ASSUME_ROLE_FIELDS))
            if unknown:
                raise AwsAccessError(f"assumeRoles[{i}]", f"unknown field(s) {unknown}", sorted(ASSUME_ROLE_FIELDS))
            if not role.get("roleArn"):
                raise AwsAccessError(f"assumeRoles[{i}]", "roleArn is required")

    def provider_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if self.profile:
            args["profile"] = self.profile
        if self.assume_roles:
            args["assume_roles"] = [aws.ProviderAssumeRoleArgs(**{ASSUME_ROLE_FIELDS[k]: v for k, v in role.items()})
                                    for role in self.assume_roles]
        return args


def define_stack(config: TenantConfig, root: Path, access: AwsAccess | None = None) -> TenantPlatform:
    # An explicit provider: the tenant file, not ambient config, decides the region; credentials
    # come from the stack config `__main__.py` read (profile, role chain) or the environment.
    provider = aws.Provider(f"{config.name}-aws", region=config.region, **(access or AwsAccess()).provider_args())
    identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider))
    platform = TenantPlatform(config.name, TenantPlatformArgs(
        config=config, account_id=identity.account_id, package=build_package(root)),
        pulumi.ResourceOptions(providers=[provider]))
    for output, value in platform.outputs.items():
        pulumi.export(output, value)
    return platform
