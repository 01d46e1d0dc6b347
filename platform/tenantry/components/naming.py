"""Physical names: every AWS name of a tenant starts with `tenantry-<tenant>-`, so two tenants can
never collide and IAM policies can be checked to name this tenant's resources only."""

from __future__ import annotations

PREFIX = "tenantry"
# AppSync names an API's log group itself: this prefix plus the API id (unknown until it exists).
APPSYNC_LOG_GROUP_PREFIX = "/aws/appsync/apis/"
# A tenant's functions by key (physical name `physical(tenant, key)`) and their entry points; the
# consumers are fed by an event source mapping, each with an on-failure queue `<key>-dlq`. Here,
# not in the Pulumi component, so the ops CLI and drivers read them without importing Pulumi.
HANDLERS = {
    "command": "lambdas.handlers.commands.handler",
    "publisher": "lambdas.handlers.publisher.handler",
    "projector": "lambdas.handlers.projector.handler",
    "archiver": "lambdas.handlers.archiver.handler",
}
CONSUMERS = ("publisher", "projector", "archiver")
# Declared only where the tenant has an API key: extends it on a schedule.
KEY_RENEWAL = "key-renewal"
KEY_RENEWAL_HANDLER = "lambdas.handlers.key_renewal.handler"


def physical(tenant: str, suffix: str) -> str:
    return f"{PREFIX}-{tenant}-{suffix}"


def kms_alias(tenant: str) -> str:
    return f"alias/{PREFIX}-{tenant}"


def log_group(function_name: str) -> str:
    return f"/aws/lambda/{function_name}"


def appsync_log_groups() -> str:
    """Every AppSync API's log group (a pattern: the id is chosen by AppSync)."""
    return f"{APPSYNC_LOG_GROUP_PREFIX}*"


def archive_bucket_prefix(tenant: str) -> str:
    """The archive bucket's autoname prefix: Pulumi appends `-<7 random hex>` once, at creation
    (<= 56 characters of S3's 63). The name itself comes from the declared bucket's outputs."""
    return physical(tenant, "archive")


def read_model_table(tenant: str, kind: str, slot: str) -> str:
    """A read-model table of one blue/green slot: `tenantry-<tenant>-accounts-blue`, ..."""
    return physical(tenant, f"{kind}-{slot}")


def issuer_url(region: str, user_pool_id: str) -> str:
    """A Cognito user pool's `iss`, and where its JWKS and OpenID configuration are served."""
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"
