"""The authorization policy of DESIGN section 3 ("Who may call what"), over every command and
every caller kind: pure, no store, no moto."""

from __future__ import annotations

import pytest

from lambdas.banking.commands import CloseAccount, Deposit, OpenAccount, Transfer, Withdraw
from lambdas.banking.errors import OwnerRequiredError, UnauthorizedError
from lambdas.banking.policy import ADMINS_GROUP, ApiKey, Service, User, actor, authorize, owner_of_new_account
from lambdas.banking.queries import AccountAt
from lambdas.handlers.identity import caller_from_identity

pytestmark = pytest.mark.unit

ALICE = User("alice-sub")
BOB = User("bob-sub", frozenset({"customers"}))
OPS = User("ops-sub", frozenset({ADMINS_GROUP}))
PROJECTOR = Service("arn:aws:iam::123456789012:role/tenantry-acme-projector")
KEY = ApiKey()
CALLERS = {"alice": ALICE, "bob": BOB, "ops": OPS, "service": PROJECTOR, "api key": KEY}
OWNERS = {"alices": ALICE.sub, "bobs": BOB.sub}

# Every guarded command, aimed at (or on behalf of) alice: only alice and the privileged pass.
ON_ALICES = {
    "openAccount": OpenAccount(ownerId=ALICE.sub, currency="EUR", commandId="c"),
    "deposit": Deposit(accountId="alices", amount=5, commandId="c"),
    "withdraw": Withdraw(accountId="alices", amount=5, commandId="c"),
    "transfer": Transfer(fromAccountId="alices", toAccountId="bobs", amount=5, commandId="c"),
    "closeAccount": CloseAccount(accountId="alices", commandId="c"),
    "accountAt": AccountAt(id="alices"),
}
ALLOWED = {"alice", "ops", "service", "api key"}


@pytest.mark.parametrize("command_name", ON_ALICES)
@pytest.mark.parametrize("caller_name", CALLERS)
def test_the_owner_admins_and_services_may_act_on_an_account_nobody_else(command_name, caller_name):
    # GIVEN alice's account (or an account to be opened for her) and a caller
    command, caller = ON_ALICES[command_name], CALLERS[caller_name]
    # WHEN the policy decides THEN only the owner, admins, services and the API key pass
    if caller_name in ALLOWED:
        assert authorize(caller, command, OWNERS) is None
    else:
        with pytest.raises(UnauthorizedError) as refused:
            authorize(caller, command, OWNERS)
        assert refused.value.error_type == "Unauthorized"


def test_a_refusal_names_the_account_not_its_owner():
    with pytest.raises(UnauthorizedError) as refused:
        authorize(BOB, ON_ALICES["withdraw"], OWNERS)
    assert (refused.value.action, refused.value.account_id) == ("move money on", "alices")
    assert ALICE.sub not in vars(refused.value).values()


def test_a_transfer_is_the_source_owners_the_target_need_not_be_the_callers():
    # GIVEN a transfer from bob's account into alice's
    into_alices = Transfer(fromAccountId="bobs", toAccountId="alices", amount=5, commandId="c")
    # THEN bob may, alice may not (she owns only the receiving side)
    assert authorize(BOB, into_alices, OWNERS) is None
    with pytest.raises(UnauthorizedError):
        authorize(ALICE, into_alices, OWNERS)


@pytest.mark.parametrize("command", [Deposit(accountId="ghost", amount=5, commandId="c"),
                                     Transfer(fromAccountId="ghost", toAccountId="alices", amount=5, commandId="c"),
                                     AccountAt(id="ghost")])
def test_an_account_that_does_not_exist_is_left_to_decide(command):
    # GIVEN no owner (the account was never opened) THEN the policy lets decide say AccountNotFound
    assert authorize(BOB, command, {"ghost": ""}) is None
    assert authorize(BOB, command, {}) is None


@pytest.mark.parametrize("caller, requested, owner", [
    (ALICE, None, ALICE.sub),            # a user without ownerId owns the account
    (ALICE, ALICE.sub, ALICE.sub),
    (OPS, BOB.sub, BOB.sub),             # an admin opens for someone else
    (PROJECTOR, BOB.sub, BOB.sub),
    (KEY, BOB.sub, BOB.sub),
])
def test_open_account_owner_defaults_to_the_calling_user(caller, requested, owner):
    assert owner_of_new_account(caller, requested) == owner


@pytest.mark.parametrize("caller", [PROJECTOR, KEY])
def test_a_caller_without_a_sub_must_name_the_owner(caller):
    with pytest.raises(OwnerRequiredError) as refused:
        owner_of_new_account(caller, None)
    assert (refused.value.error_type, refused.value.fields) == ("ValidationError", ["ownerId"])


@pytest.mark.parametrize("caller, expected", [(ALICE, "alice-sub"), (PROJECTOR, PROJECTOR.arn), (KEY, "api-key")])
def test_the_envelope_actor_is_the_sub_the_role_arn_or_api_key(caller, expected):
    assert actor(caller) == expected


COGNITO = {"sub": "alice-sub", "issuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_x",
           "username": "alice", "claims": {"sub": "alice-sub", "cognito:groups": ["admins"]},
           "sourceIp": ["127.0.0.1"], "defaultAuthStrategy": "ALLOW", "groups": None}
IAM = {"accountId": "123456789012", "cognitoIdentityPoolId": None, "cognitoIdentityId": None,
       "sourceIp": ["127.0.0.1"], "username": "AROAEXAMPLE", "userArn": PROJECTOR.arn,
       "cognitoIdentityAuthType": None, "cognitoIdentityAuthProvider": None}


@pytest.mark.parametrize("identity, expected", [
    (COGNITO | {"groups": ["admins"]}, User("alice-sub", frozenset({"admins"}))),
    (COGNITO, User("alice-sub", frozenset({"admins"}))),                        # groups from the claim
    (COGNITO | {"groups": [], "claims": {"sub": "alice-sub"}}, User("alice-sub")),
    ({"sub": "o-1", "issuer": "https://idp.example.com", "claims": {"groups": "admins"}},
     User("o-1", frozenset({"admins"}))),                                       # OIDC, one group as a string
    (IAM, PROJECTOR),
    (None, KEY),
])
def test_every_appsync_identity_shape_becomes_its_caller(identity, expected):
    assert caller_from_identity(identity) == expected


def test_an_identity_of_no_declared_mode_is_refused():
    with pytest.raises(UnauthorizedError):
        caller_from_identity({"resolverContext": {"user": "x"}})
