"""The tenant's users: a Cognito user pool, the app client its frontends sign in with, and the
`admins` group (DESIGN section 3). Declared only for `auth.users: cognito`; an OIDC tenant brings
its own provider and declares nothing here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from tenantry.config import ADMINS_GROUP

from . import naming
from .naming import issuer_url

# Bounded token lifetimes: a stolen ID/access token is good for an hour, a refresh token for a
# month; a sign-in must finish within 3 minutes (Cognito's minimum session).
TOKEN_MINUTES = 60
REFRESH_DAYS = 30
AUTH_SESSION_MINUTES = 3
MIN_PASSWORD_LENGTH = 12
# Browser and mobile clients cannot keep a secret: SRP sign-in and refresh, nothing else.
APP_CLIENT_FLOWS = ("ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH")


@dataclass(frozen=True)
class UserDirectoryArgs:
    tenant: str
    region: str
    tags: Mapping[str, str]
    mfa: str = "OFF"                 # OFF | OPTIONAL | ON (TOTP)
    self_sign_up: bool = False


class UserDirectory(pulumi.ComponentResource):
    user_pool_id: pulumi.Output[str]
    user_pool_arn: pulumi.Output[str]
    client_id: pulumi.Output[str]
    issuer: pulumi.Output[str]

    def __init__(self, name: str, args: UserDirectoryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenantry:identity:UserDirectory", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        pool = aws.cognito.UserPool(
            f"{name}-users", name=naming.physical(args.tenant, "users"),
            username_attributes=["email"], auto_verified_attributes=["email"],
            username_configuration=aws.cognito.UserPoolUsernameConfigurationArgs(case_sensitive=False),
            password_policy=aws.cognito.UserPoolPasswordPolicyArgs(
                minimum_length=MIN_PASSWORD_LENGTH, require_lowercase=True, require_uppercase=True,
                require_numbers=True, require_symbols=True, temporary_password_validity_days=3),
            mfa_configuration=args.mfa,
            software_token_mfa_configuration=(
                aws.cognito.UserPoolSoftwareTokenMfaConfigurationArgs(enabled=True) if args.mfa != "OFF" else None),
            admin_create_user_config=aws.cognito.UserPoolAdminCreateUserConfigArgs(
                allow_admin_create_user_only=not args.self_sign_up),
            account_recovery_setting=aws.cognito.UserPoolAccountRecoverySettingArgs(recovery_mechanisms=[
                aws.cognito.UserPoolAccountRecoverySettingRecoveryMechanismArgs(name="verified_email", priority=1)]),
            # Always on, like the event table's: users (and their `sub`, which owns accounts) cannot
            # be rebuilt from anything; destroying a tenant means turning it off on purpose first.
            deletion_protection="ACTIVE",
            tags=dict(args.tags), opts=child)
        client = aws.cognito.UserPoolClient(
            f"{name}-web", name=naming.physical(args.tenant, "web"), user_pool_id=pool.id,
            generate_secret=False, explicit_auth_flows=list(APP_CLIENT_FLOWS),
            prevent_user_existence_errors="ENABLED", enable_token_revocation=True,
            supported_identity_providers=["COGNITO"],
            id_token_validity=TOKEN_MINUTES, access_token_validity=TOKEN_MINUTES,
            refresh_token_validity=REFRESH_DAYS, auth_session_validity=AUTH_SESSION_MINUTES,
            token_validity_units=aws.cognito.UserPoolClientTokenValidityUnitsArgs(
                id_token="minutes", access_token="minutes", refresh_token="days"),
            opts=child)
        aws.cognito.UserGroup(f"{name}-admins", name=ADMINS_GROUP, user_pool_id=pool.id,
                              description=f"{args.tenant}: may act on every account", opts=child)
        self.user_pool_id, self.user_pool_arn, self.client_id = pool.id, pool.arn, client.id
        self.issuer = pool.id.apply(lambda pool_id: issuer_url(args.region, pool_id))
        self.register_outputs({"user_pool_id": self.user_pool_id, "user_pool_arn": self.user_pool_arn,
                               "client_id": self.client_id, "issuer": self.issuer})
