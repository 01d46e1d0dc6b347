"""Every example tenant's users: a Cognito pool with safe settings, a public app client, an
`admins` group, and an API whose default mode is that pool (DESIGN section 3)."""

from __future__ import annotations

import pytest

from tenantry.components.identity import APP_CLIENT_FLOWS, MIN_PASSWORD_LENGTH, issuer_url

pytestmark = pytest.mark.infra


def one(resources, type_token: str):
    [resource] = [r for r in resources if r.type == type_token]
    return resource


def test_the_user_pool_is_protected_and_admin_managed(resources, configs, tenant):
    # GIVEN a tenant's declared user pool
    pool = one(resources, "aws:cognito/userPool:UserPool").inputs
    # THEN e-mail is the username, passwords are strong, users cannot sign themselves up,
    # and it cannot be deleted by accident
    assert pool["usernameAttributes"] == ["email"] and pool["autoVerifiedAttributes"] == ["email"]
    policy = pool["passwordPolicy"]
    assert policy["minimumLength"] >= MIN_PASSWORD_LENGTH
    assert all(policy[k] for k in ("requireLowercase", "requireUppercase", "requireNumbers", "requireSymbols"))
    assert pool["adminCreateUserConfig"]["allowAdminCreateUserOnly"] is True
    assert pool["deletionProtection"] == "ACTIVE" and pool["mfaConfiguration"] == configs[tenant].auth.mfa
    assert pool["name"] == f"tenantry-{tenant}-users"


def test_the_app_client_has_no_secret_and_only_srp_and_refresh(resources):
    # GIVEN the app client browser and mobile frontends sign in with
    client = one(resources, "aws:cognito/userPoolClient:UserPoolClient").inputs
    # THEN it keeps no secret, allows SRP and refresh only, hides whether a user exists,
    # and its tokens live an hour (refresh: 30 days)
    assert client["generateSecret"] is False
    assert sorted(client["explicitAuthFlows"]) == sorted(APP_CLIENT_FLOWS)
    assert client["preventUserExistenceErrors"] == "ENABLED" and client["enableTokenRevocation"] is True
    assert client["idTokenValidity"] == client["accessTokenValidity"] == 60
    assert client["tokenValidityUnits"] == {"idToken": "minutes", "accessToken": "minutes", "refreshToken": "days"}
    assert client["refreshTokenValidity"] <= 30


def test_admins_is_a_group_of_the_pool(resources):
    group = one(resources, "aws:cognito/userGroup:UserGroup").inputs
    pool = one(resources, "aws:cognito/userPool:UserPool")
    assert group["name"] == "admins" and group["userPoolId"] == pool.outputs["id"]


def test_the_api_trusts_the_pool_then_iam_and_no_key(resources, harness):
    # GIVEN the tenant's API and pool
    api = one(resources, "aws:appsync/graphQLApi:GraphQLApi").inputs
    pool = one(resources, "aws:cognito/userPool:UserPool")
    # THEN the pool's users are the default mode, services sign with IAM, and no key exists
    assert api["authenticationType"] == "AMAZON_COGNITO_USER_POOLS"
    assert api["userPoolConfig"]["userPoolId"] == pool.outputs["id"]
    assert api["userPoolConfig"]["awsRegion"] == harness.region
    assert api["additionalAuthenticationProviders"] == [{"authenticationType": "AWS_IAM"}]
    assert not [r for r in resources if r.type == "aws:appsync/apiKey:ApiKey"]
    # AND the stack tells frontends where to sign in
    outputs = harness.stack_outputs
    assert outputs["user_pool_id"] == pool.outputs["id"]
    assert outputs["issuer"] == issuer_url(harness.region, pool.outputs["id"])
