"""The Api component under Pulumi's mock runtime: resolvers, auth, scoped roles, logging."""

from __future__ import annotations

import datetime as dt
import json

import pulumi
import pytest
from graphql import build_schema

from tenantry.appsync.spec import API_SPEC, RESOLVER_DIR, RUNTIME_NAME, RUNTIME_VERSION
from lambdas.apikeys import ApiKeyLifetimeError
from tenantry.components.api import Api, ApiArgs, ApiAuth, api_key_expiry, realtime_url

pytestmark = pytest.mark.infra

ACCOUNT, REGION = "123456789012", "eu-west-1"
ACCOUNTS_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/tenantry-acme-accounts"
LEDGER_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/tenantry-acme-ledger"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:tenantry-acme-command"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/acme-key"
USER_POOL_ID = f"{REGION}_AbCdEf123"
API_ARN = f"arn:aws:appsync:{REGION}:{ACCOUNT}:apis/acme-api-id"
GRAPHQL_URL = f"https://abc.appsync-api.{REGION}.amazonaws.com/graphql"
APPSYNC_PRELUDE = ("scalar AWSDateTime\ndirective @aws_api_key on FIELD_DEFINITION | OBJECT\n"
                   "directive @aws_iam on FIELD_DEFINITION | OBJECT\n"
                   "directive @aws_subscribe(mutations: [String]) on FIELD_DEFINITION\n")


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, uris: dict[str, str]) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []
        self.uris = uris

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append(args)
        outputs = dict(args.inputs)
        if args.typ == "aws:appsync/graphQLApi:GraphQLApi":
            outputs.update(arn=API_ARN, uris=self.uris)
        if args.typ == "aws:iam/role:Role":
            outputs["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{args.inputs['name']}"
        if args.typ == "aws:appsync/apiKey:ApiKey":
            outputs["key"] = "da2-secret"
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


def declare(uris: dict[str, str] | None = None, **overrides) -> tuple[list, dict]:
    mocks = RecordingMocks(uris or {"GRAPHQL": GRAPHQL_URL})
    parents: dict[tuple[str, str], str | None] = {}

    def record_parent(transform: pulumi.ResourceTransformationArgs) -> None:
        parents[(transform.type_, transform.name)] = transform.opts.parent._name if transform.opts.parent else None
        return None

    pulumi.runtime.set_mocks(mocks, project="tenantry", stack="acme", preview=False)
    attributes: dict = {}
    args = ApiArgs(tenant="acme", tags={"tenant": "acme"}, accounts_table_name="tenantry-acme-accounts",
                   accounts_table_arn=ACCOUNTS_ARN, ledger_table_name="tenantry-acme-ledger",
                   ledger_table_arn=LEDGER_ARN, command_function_arn=FUNCTION_ARN,
                   projector_role_name="tenantry-acme-projector", kms_key_arn=KEY_ARN,
                   **{"auth": ApiAuth(region=REGION, user_pool_id=USER_POOL_ID, api_key=True), **overrides})

    @pulumi.runtime.test
    def program():
        api = Api("acme-api", args, pulumi.ResourceOptions(transformations=[record_parent]))
        names = ("graphql_url", "realtime_url", "api_id", "api_arn", "api_key")
        return pulumi.Output.all(*(getattr(api, n) or "" for n in names)).apply(
            lambda values: attributes.update(zip(names, values)))

    program()
    attributes["parents"] = parents
    return mocks.resources, attributes


@pytest.fixture(scope="module")
def declared():
    return declare()


def of_type(resources, typ: str) -> list:
    return [r for r in resources if r.typ == typ]


def policies(resources) -> dict[str, dict]:
    return {r.name: json.loads(r.inputs["policy"]) for r in of_type(resources, "aws:iam/rolePolicy:RolePolicy")}


def schema():
    return build_schema(APPSYNC_PRELUDE + (RESOLVER_DIR / "schema.graphql").read_text())


def test_every_root_field_has_exactly_one_resolver(declared):
    resources, _ = declared
    # GIVEN the schema's Query, Mutation and Subscription fields
    parsed = schema()
    fields = sorted((t.name, f) for t in (parsed.query_type, parsed.mutation_type, parsed.subscription_type)
                    for f in t.fields)
    # THEN the component declares one resolver per field, no more
    declared_fields = sorted((r.inputs["type"], r.inputs["field"]) for r in of_type(resources, "aws:appsync/resolver:Resolver"))
    assert declared_fields == fields


def test_resolvers_run_appsync_js_with_the_code_of_their_file(declared):
    resources, _ = declared
    by_field = {(r.inputs["type"], r.inputs["field"]): r.inputs for r in of_type(resources, "aws:appsync/resolver:Resolver")}
    for resolver in API_SPEC.resolvers:
        inputs = by_field[(resolver.type_name, resolver.field_name)]
        assert inputs["runtime"] == {"name": RUNTIME_NAME, "runtimeVersion": RUNTIME_VERSION}
        assert inputs["kind"] == "UNIT"
        assert inputs["code"] == (RESOLVER_DIR / resolver.code_file).read_text()
        assert inputs["dataSource"] == resolver.data_source


def test_code_files_exist_and_data_sources_are_declared():
    names = {ds.name for ds in API_SPEC.data_sources}
    for resolver in API_SPEC.resolvers:
        assert (RESOLVER_DIR / resolver.code_file).is_file()
        assert resolver.data_source in names


def test_publish_is_iam_only_and_everything_else_uses_the_default_mode():
    parsed = schema()
    publish = parsed.mutation_type.fields["publishAccountUpdate"]
    assert [d.name.value for d in publish.ast_node.directives] == ["aws_iam"]
    others = [f for t in (parsed.query_type, parsed.mutation_type, parsed.subscription_type)
              for name, f in t.fields.items() if name != "publishAccountUpdate"]
    assert all(not [d for d in (f.ast_node.directives or ()) if d.name.value.startswith("aws_") and
                    d.name.value != "aws_subscribe"] for f in others)


def test_users_of_the_pool_are_the_default_mode_and_iam_and_the_enabled_key_additional(declared):
    # GIVEN an API of a Cognito tenant whose key is enabled (a sandbox)
    resources, _ = declared
    [api] = of_type(resources, "aws:appsync/graphQLApi:GraphQLApi")
    # THEN users sign in with the pool, services with IAM, and the key is one more mode
    assert api.inputs["authenticationType"] == "AMAZON_COGNITO_USER_POOLS"
    assert api.inputs["userPoolConfig"] == {"userPoolId": USER_POOL_ID, "awsRegion": REGION, "defaultAction": "ALLOW"}
    assert api.inputs["additionalAuthenticationProviders"] == [
        {"authenticationType": "AWS_IAM"}, {"authenticationType": "API_KEY"}]
    assert len(of_type(resources, "aws:appsync/apiKey:ApiKey")) == 1


def test_no_api_key_unless_enabled():
    # GIVEN an API whose tenant leaves the key off (the default)
    resources, attributes = declare(auth=ApiAuth(region=REGION, user_pool_id=USER_POOL_ID))
    [api] = of_type(resources, "aws:appsync/graphQLApi:GraphQLApi")
    # THEN there is no key, no key mode and no key output
    assert api.inputs["additionalAuthenticationProviders"] == [{"authenticationType": "AWS_IAM"}]
    assert of_type(resources, "aws:appsync/apiKey:ApiKey") == [] and attributes["api_key"] == ""


def test_an_oidc_tenant_trusts_its_own_issuer():
    # GIVEN an API of a tenant with its own OpenID Connect provider
    resources, _ = declare(auth=ApiAuth(region=REGION, oidc_issuer="https://idp.example.com", oidc_client_id="web"))
    [api] = of_type(resources, "aws:appsync/graphQLApi:GraphQLApi")
    # THEN that provider is the default mode and no user pool is named
    assert api.inputs["authenticationType"] == "OPENID_CONNECT"
    assert api.inputs["openidConnectConfig"] == {"issuer": "https://idp.example.com", "clientId": "web"}
    assert "userPoolConfig" not in api.inputs


def test_auth_needs_exactly_one_user_directory():
    with pytest.raises(ValueError):
        ApiAuth(region=REGION)
    with pytest.raises(ValueError):
        ApiAuth(region=REGION, user_pool_id=USER_POOL_ID, oidc_issuer="https://idp.example.com")


def test_field_logging_uses_a_role_scoped_to_the_apis_log_group(declared):
    resources, _ = declared
    [api] = of_type(resources, "aws:appsync/graphQLApi:GraphQLApi")
    assert api.inputs["logConfig"]["fieldLogLevel"] == "ERROR"
    assert api.inputs["logConfig"]["cloudwatchLogsRoleArn"].endswith(":role/tenantry-acme-appsync-logs")
    [statement] = policies(resources)["acme-api-logs"]["Statement"]
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/appsync/apis/acme-api-id"
    # its log streams only: both actions apply to log streams, not to the group itself
    assert statement["Resource"] == [f"{group}:*"]
    assert "logs:CreateLogGroup" not in statement["Action"]    # the group is declared, below


def test_the_apis_log_group_is_declared_with_a_retention_and_the_tenant_key(declared):
    resources, _ = declared
    [group] = of_type(resources, "aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["name"] == "/aws/appsync/apis/acme-api-id"
    assert group.inputs["retentionInDays"] == 30
    assert group.inputs["kmsKeyId"] == KEY_ARN


def test_field_logs_never_carry_headers_identity_or_arguments(declared):
    # GIVEN the API at any field log level (ALL logs request headers, x-api-key included)
    resources, _ = declared
    [api] = of_type(resources, "aws:appsync/graphQLApi:GraphQLApi")
    # THEN verbose content is excluded
    assert api.inputs["logConfig"]["excludeVerboseContent"] is True


@pytest.mark.parametrize("data_source, actions, resources_", [
    ("accounts", ["dynamodb:GetItem", "dynamodb:Query"], [ACCOUNTS_ARN, f"{ACCOUNTS_ARN}/index/*"]),
    ("ledger", ["dynamodb:Query"], [LEDGER_ARN, f"{LEDGER_ARN}/index/*"]),
    ("commands", ["lambda:InvokeFunction"], [FUNCTION_ARN, f"{FUNCTION_ARN}:*"]),
])
def test_data_source_roles_are_scoped_to_their_target(declared, data_source, actions, resources_):
    resources, _ = declared
    statement, *_ = policies(resources)[f"acme-api-ds-{data_source}"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == (actions, resources_)
    [role] = [r for r in of_type(resources, "aws:iam/role:Role") if r.name == f"acme-api-ds-{data_source}"]
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "appsync.amazonaws.com"}


@pytest.mark.parametrize("data_source", ["accounts", "ledger"])
def test_table_data_sources_may_decrypt_with_the_tables_key_through_dynamodb_only(declared, data_source):
    # GIVEN read-model tables encrypted with the tenant key WHEN reading a table data source's role
    resources, _ = declared
    _, key = policies(resources)[f"acme-api-ds-{data_source}"]["Statement"]
    # THEN it may decrypt with exactly that key, only when DynamoDB calls KMS on its behalf
    assert key == {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": [KEY_ARN],
                   "Condition": {"StringEquals": {"kms:ViaService": f"dynamodb.{REGION}.amazonaws.com"}}}


def test_the_command_data_source_gets_no_key(declared):
    resources, _ = declared
    [statement] = policies(resources)["acme-api-ds-commands"]["Statement"]
    assert statement["Action"] == ["lambda:InvokeFunction"]


def test_none_data_source_has_no_role(declared):
    resources, _ = declared
    [none] = [r for r in of_type(resources, "aws:appsync/dataSource:DataSource") if r.inputs["name"] == "none"]
    assert none.inputs["type"] == "NONE" and "serviceRoleArn" not in none.inputs


def test_projector_may_call_only_the_publish_field(declared):
    resources, _ = declared
    publish = [r for r in of_type(resources, "aws:iam/rolePolicy:RolePolicy") if r.name == "acme-api-projector-publish"]
    [policy] = publish
    assert policy.inputs["role"] == "tenantry-acme-projector"
    [statement] = json.loads(policy.inputs["policy"])["Statement"]
    assert statement == {"Effect": "Allow", "Action": ["appsync:GraphQL"],
                         "Resource": [f"{API_ARN}/types/Mutation/fields/publishAccountUpdate"]}


def test_no_policy_grants_a_wildcard_resource(declared):
    resources, _ = declared
    for name, policy in policies(resources).items():
        for statement in policy["Statement"]:
            assert "*" not in statement["Resource"], name


def test_every_child_is_parented_to_the_component(declared):
    resources, attributes = declared
    component = [r for r in resources if r.typ == "tenantry:api:Api"]
    children = [r for r in resources if r.custom]
    assert len(component) <= 1 and children
    assert attributes["parents"] == {**{(r.typ, r.name): "acme-api" for r in children},
                                     ("tenantry:api:Api", "acme-api"): None}


def test_attributes(declared):
    _, attributes = declared
    assert attributes["graphql_url"] == GRAPHQL_URL
    assert attributes["realtime_url"] == f"wss://abc.appsync-realtime-api.{REGION}.amazonaws.com/graphql"
    assert attributes["api_arn"] == API_ARN
    assert attributes["api_key"] == "da2-secret"


def test_realtime_url_prefers_the_apis_own():
    _, attributes = declare(uris={"GRAPHQL": GRAPHQL_URL, "REALTIME": "wss://own/graphql"})
    assert attributes["realtime_url"] == "wss://own/graphql"


def test_api_key_expiry_is_configurable_and_bounded():
    now = dt.datetime(2024, 5, 17, 13, 45, tzinfo=dt.UTC)
    assert api_key_expiry(30, now) == "2024-06-16T15:00:00Z"    # lambdas.apikeys (tests/unit/test_apikeys.py)
    with pytest.raises(ApiKeyLifetimeError):
        declare(api_key_expires_days=366)
    with pytest.raises(ValueError):
        declare(field_log_level="VERBOSE")


def test_realtime_url_derivation():
    assert realtime_url(GRAPHQL_URL) == f"wss://abc.appsync-realtime-api.{REGION}.amazonaws.com/graphql"
