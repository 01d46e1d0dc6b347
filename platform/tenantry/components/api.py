"""The tenant's AppSync GraphQL API, built from `tenantry.appsync.spec` (the one description the
local platform executes too): schema, auth modes (users, IAM, an optional API key), scoped data-source roles, APPSYNC_JS resolvers,
field logging, the auth modes, and the projector's permission to call `publishAccountUpdate` only."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from lambdas.apikeys import MAX_DAYS as MAX_API_KEY_DAYS
from lambdas.apikeys import MIN_DAYS as MIN_API_KEY_DAYS
from lambdas.apikeys import ApiKeyLifetimeError, rfc3339
from lambdas.apikeys import api_key_expiry as _expiry
from tenantry.appsync.spec import (API_KEY, API_SPEC, AWS_IAM, OIDC, RESOLVER_DIR, RUNTIME_NAME, RUNTIME_VERSION,
                                   USER_POOLS, ApiSpec, DataSourceKind, DataSourceSpec, Target)

from . import naming
from .naming import APPSYNC_LOG_GROUP_PREFIX

APPSYNC_PRINCIPAL = "appsync.amazonaws.com"
FIELD_LOG_LEVELS = ("NONE", "ERROR", "INFO", "DEBUG", "ALL")
PUBLISH_FIELD = ("Mutation", "publishAccountUpdate")
# What a DynamoDB data source needs of the tables' KMS key to read them (no writes: no data key).
TABLE_KEY_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")


@dataclass(frozen=True)
class ApiAuth:
    """Who may call the API (DESIGN section 3): users by default (the tenant's Cognito pool or its
    OIDC provider), IAM-signed services always, an API key only where the tenant enables one."""

    region: str
    user_pool_id: pulumi.Input[str] | None = None      # Cognito mode
    oidc_issuer: str | None = None                      # OIDC mode
    oidc_client_id: str | None = None
    api_key: bool = False

    def __post_init__(self) -> None:
        if (self.user_pool_id is None) == (self.oidc_issuer is None):
            raise ValueError("ApiAuth needs exactly one user directory: a user pool id or an OIDC issuer")

    @property
    def default_mode(self) -> str:
        return USER_POOLS if self.user_pool_id is not None else OIDC

    @property
    def additional_modes(self) -> tuple[str, ...]:
        return (AWS_IAM, API_KEY) if self.api_key else (AWS_IAM,)

    def api_settings(self) -> dict:
        """The GraphQLApi arguments that say all of this."""
        users = ({"user_pool_config": aws.appsync.GraphQLApiUserPoolConfigArgs(
                     user_pool_id=self.user_pool_id, aws_region=self.region, default_action="ALLOW")}
                 if self.default_mode == USER_POOLS else
                 {"openid_connect_config": aws.appsync.GraphQLApiOpenidConnectConfigArgs(
                     issuer=self.oidc_issuer, client_id=self.oidc_client_id)})
        return {"authentication_type": self.default_mode, **users,
                "additional_authentication_providers": [
                    aws.appsync.GraphQLApiAdditionalAuthenticationProviderArgs(authentication_type=mode)
                    for mode in self.additional_modes]}


@dataclass(frozen=True)
class ApiArgs:
    tenant: str
    tags: Mapping[str, str]
    accounts_table_name: pulumi.Input[str]
    accounts_table_arn: pulumi.Input[str]
    ledger_table_name: pulumi.Input[str]
    ledger_table_arn: pulumi.Input[str]
    command_function_arn: pulumi.Input[str]
    projector_role_name: pulumi.Input[str]
    # The tenant key: it encrypts the read-model tables (DynamoDB data-source roles may decrypt
    # with it, through DynamoDB only) and the API's log group (see `Api`).
    kms_key_arn: pulumi.Input[str]
    auth: ApiAuth
    api_key_expires_days: int = 365
    field_log_level: str = "ERROR"
    query_depth_limit: int = 16           # AppSync: 1..75 (0 = unlimited)
    resolver_count_limit: int = 100       # AppSync: 1..10000 (0 = 10000)
    log_retention_days: int = 30

    def __post_init__(self) -> None:
        if not MIN_API_KEY_DAYS <= self.api_key_expires_days <= MAX_API_KEY_DAYS:
            raise ApiKeyLifetimeError(self.api_key_expires_days)
        if self.field_log_level not in FIELD_LOG_LEVELS:
            raise ValueError(f"field_log_level must be one of {FIELD_LOG_LEVELS}, got {self.field_log_level!r}")


def api_key_expiry(days: int, now: dt.datetime | None = None) -> str:
    """RFC 3339, a whole hour inside AppSync's 1..365-day window (`lambdas.apikeys`, which the
    renewal function uses too). Each `up` extends the key in place (same key value)."""
    return rfc3339(_expiry(days, now or dt.datetime.now(dt.UTC)))


def realtime_url(graphql_url: str) -> str:
    return graphql_url.replace("https://", "wss://").replace("appsync-api", "appsync-realtime-api")


def _assume_appsync() -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": APPSYNC_PRINCIPAL}, "Action": "sts:AssumeRole"}]})


def _statement(actions: tuple[str, ...], resources: list[pulumi.Input[str]], **extra: object) -> dict:
    return {"Effect": "Allow", "Action": list(actions), "Resource": resources, **extra}


def _allow(actions: tuple[str, ...], resources: list[pulumi.Input[str]], *more: dict) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [_statement(actions, resources), *more]})


def _table_key_statement(kms_key_arn: pulumi.Input[str]) -> dict:
    """Decrypt with the tables' key, and only when DynamoDB asks on the role's behalf. The key is
    regional and DynamoDB uses a key of its own region, so the region comes from the key's ARN."""
    via = pulumi.Output.from_input(kms_key_arn).apply(lambda arn: f"dynamodb.{arn.split(':')[3]}.amazonaws.com")
    return _statement(TABLE_KEY_ACTIONS, [kms_key_arn], Condition={"StringEquals": {"kms:ViaService": via}})


class Api(pulumi.ComponentResource):
    graphql_url: pulumi.Output[str]
    realtime_url: pulumi.Output[str]
    api_id: pulumi.Output[str]
    api_arn: pulumi.Output[str]
    api_key: pulumi.Output[str] | None       # only where the tenant enables a key
    api_key_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: ApiArgs, opts: pulumi.ResourceOptions | None = None,
                 spec: ApiSpec = API_SPEC) -> None:
        super().__init__("tenantry:api:Api", name, None, opts)
        self._args, self._name = args, name
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        log_role = aws.iam.Role(f"{name}-logs", name=naming.physical(args.tenant, "appsync-logs"),
                                assume_role_policy=_assume_appsync(), tags=tags, opts=child)
        api = aws.appsync.GraphQLApi(
            name,
            name=naming.physical(args.tenant, "api"),
            **args.auth.api_settings(),
            # The directives name the tenant's users' mode, and the key only where it is enabled.
            schema=spec.schema(args.auth.default_mode, api_key=args.auth.api_key),
            # Never log headers (the `x-api-key`, tokens), identity or arguments, whatever the level.
            log_config=aws.appsync.GraphQLApiLogConfigArgs(
                cloudwatch_logs_role_arn=log_role.arn, field_log_level=args.field_log_level,
                exclude_verbose_content=True),
            xray_enabled=True,
            query_depth_limit=args.query_depth_limit,
            resolver_count_limit=args.resolver_count_limit,
            tags=tags,
            opts=child,
        )
        # AppSync writes to /aws/appsync/apis/<id>. Declared here, not left to AppSync, so it is
        # tagged, has a retention and is encrypted with the tenant key; the role may write only
        # there. The key policy cannot name this group (the key cannot wait for the API: API ->
        # command function -> its log group -> key), so it allows `/aws/appsync/apis/*` of the
        # tenant's account and region (`keys.APPSYNC_LOG_GROUPS`).
        aws.cloudwatch.LogGroup(
            f"{name}-logs", name=api.id.apply(lambda api_id: f"{APPSYNC_LOG_GROUP_PREFIX}{api_id}"),
            retention_in_days=args.log_retention_days, kms_key_id=args.kms_key_arn, tags=tags, opts=child)
        log_group_arn = api.arn.apply(_log_group_arn)
        # Both actions are authorized on log streams (`<group>:log-stream:<name>`): `<group>:*` alone.
        aws.iam.RolePolicy(f"{name}-logs", role=log_role.id, opts=child, policy=_allow(
            ("logs:CreateLogStream", "logs:PutLogEvents"), [pulumi.Output.concat(log_group_arn, ":*")]))
        key = (aws.appsync.ApiKey(f"{name}-key", api_id=api.id, description=f"{args.tenant} sandbox API key",
                                  expires=api_key_expiry(args.api_key_expires_days), opts=child)
               if args.auth.api_key else None)
        data_sources = {ds.name: self._data_source(api, ds) for ds in spec.data_sources}
        for resolver in spec.resolvers:
            aws.appsync.Resolver(
                f"{name}-{resolver.type_name}-{resolver.field_name}",
                api_id=api.id, type=resolver.type_name, field=resolver.field_name, kind="UNIT",
                data_source=data_sources[resolver.data_source].name,
                code=(RESOLVER_DIR / resolver.code_file).read_text(encoding="utf-8"),
                runtime=aws.appsync.ResolverRuntimeArgs(name=RUNTIME_NAME, runtime_version=RUNTIME_VERSION),
                opts=child,
            )
        type_name, field_name = PUBLISH_FIELD
        aws.iam.RolePolicy(f"{name}-projector-publish", role=args.projector_role_name, opts=child, policy=_allow(
            ("appsync:GraphQL",), [pulumi.Output.concat(api.arn, f"/types/{type_name}/fields/{field_name}")]))

        self.api_id, self.api_arn = api.id, api.arn
        self.graphql_url = api.uris.apply(lambda uris: uris["GRAPHQL"])
        self.realtime_url = api.uris.apply(lambda uris: uris.get("REALTIME") or realtime_url(uris["GRAPHQL"]))
        self.api_key = pulumi.Output.secret(key.key) if key is not None else None
        # AppSync's key id is the key itself: kept secret here too (the renewal reads it from its
        # environment, encrypted with the tenant key).
        self.api_key_id = pulumi.Output.secret(key.api_key_id) if key is not None else None
        self.register_outputs({"graphql_url": self.graphql_url, "realtime_url": self.realtime_url,
                               "api_id": self.api_id, "api_arn": self.api_arn,
                               **({"api_key": self.api_key} if key is not None else {})})

    def _data_source(self, api: aws.appsync.GraphQLApi, ds: DataSourceSpec) -> aws.appsync.DataSource:
        child = pulumi.ResourceOptions(parent=self)
        common = dict(api_id=api.id, name=ds.name, type=ds.kind.value, opts=child)
        if ds.kind is DataSourceKind.NONE:
            return aws.appsync.DataSource(f"{self._name}-ds-{ds.name}", **common)
        role = aws.iam.Role(f"{self._name}-ds-{ds.name}", name=naming.physical(self._args.tenant, f"appsync-{ds.name}"),
                            assume_role_policy=_assume_appsync(), tags=dict(self._args.tags), opts=child)
        # Read-model tables are SSE-KMS with the tenant key: without Decrypt, every query fails.
        key = (_table_key_statement(self._args.kms_key_arn),) if ds.kind is DataSourceKind.DYNAMODB else ()
        aws.iam.RolePolicy(f"{self._name}-ds-{ds.name}", role=role.id, opts=child,
                           policy=_allow(ds.actions, self._scope(ds.target), *key))
        if ds.kind is DataSourceKind.DYNAMODB:
            return aws.appsync.DataSource(
                f"{self._name}-ds-{ds.name}", service_role_arn=role.arn,
                dynamodb_config=aws.appsync.DataSourceDynamodbConfigArgs(table_name=self._table_name(ds.target)),
                **common)
        return aws.appsync.DataSource(
            f"{self._name}-ds-{ds.name}", service_role_arn=role.arn,
            lambda_config=aws.appsync.DataSourceLambdaConfigArgs(function_arn=self._args.command_function_arn),
            **common)

    def _table_name(self, target: Target) -> pulumi.Input[str]:
        return {Target.ACCOUNTS_TABLE: self._args.accounts_table_name,
                Target.LEDGER_TABLE: self._args.ledger_table_name}[target]

    def _scope(self, target: Target) -> list[pulumi.Input[str]]:
        """The target and nothing else: a table and its indexes, or the function (and its versions)."""
        if target is Target.COMMAND_FUNCTION:
            arn = self._args.command_function_arn
            return [arn, pulumi.Output.concat(arn, ":*")]
        arn = {Target.ACCOUNTS_TABLE: self._args.accounts_table_arn,
               Target.LEDGER_TABLE: self._args.ledger_table_arn}[target]
        return [arn, pulumi.Output.concat(arn, "/index/*")]


def _log_group_arn(api_arn: str) -> str:
    _, partition, _, region, account, resource = api_arn.split(":", 5)   # ...:apis/<id>
    api_id = resource.split("/", 1)[1]
    return f"arn:{partition}:logs:{region}:{account}:log-group:{APPSYNC_LOG_GROUP_PREFIX}{api_id}"
