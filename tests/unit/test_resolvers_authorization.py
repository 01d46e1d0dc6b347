"""The query and subscription resolvers decide who sees which account (DESIGN section 3), in V8,
over the identities AppSync passes per auth mode; the rule they apply is the Python policy's
(`lambdas.banking.policy`), checked here over the same callers."""

from __future__ import annotations

import pytest

from lambdas.banking.errors import UnauthorizedError
from lambdas.banking.policy import authorize
from lambdas.banking.queries import AccountAt
from lambdas.handlers.identity import caller_from_identity
from tenantry.appsync.filters import filter_matches
from tenantry.appsync.spec import API_SPEC, RESOLVER_DIR

pytestmark = pytest.mark.unit

POOL = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_example"


def user(name: str, groups: list[str] | None = None, *, in_claims: bool = False) -> dict:
    sub = f"{name}-sub"
    claims = {"sub": sub, "cognito:groups": groups} if in_claims else {"sub": sub}
    return {"sub": sub, "issuer": POOL, "username": name, "claims": claims, "sourceIp": ["127.0.0.1"],
            "defaultAuthStrategy": "ALLOW", "groups": None if in_claims else groups}


IDENTITIES = {
    "alice": user("alice"),
    "bob": user("bob", ["customers"]),
    "ops": user("ops", ["admins"]),
    "ops (groups in the token only)": user("ops", ["admins"], in_claims=True),
    "oidc admin": {"sub": "o-ops", "issuer": "https://idp.example.com", "claims": {"groups": "admins"}},
    "oidc user": {"sub": "o-carol", "issuer": "https://idp.example.com", "claims": {}},
    "service": {"accountId": "123456789012", "userArn": "arn:aws:iam::123456789012:role/ops", "username": "AROA",
                "sourceIp": ["127.0.0.1"], "cognitoIdentityPoolId": None, "cognitoIdentityId": None,
                "cognitoIdentityAuthType": None, "cognitoIdentityAuthProvider": None},
    "api key": None,
}
ALICES = {"id": "alices", "ownerId": "alice-sub", "currency": "EUR", "balance": 5, "status": "OPEN", "version": 1}


def ctx(identity: dict | None, result=None, **arguments) -> dict:
    return {"arguments": arguments, "identity": identity, "source": None, "stash": {}, "prev": None,
            "request": {"headers": {}}, "info": {}, "result": result, "error": None}


def policy_allows(identity: dict | None) -> bool:
    """What the command Lambda's policy says about this caller reading alice's account."""
    try:
        authorize(caller_from_identity(identity), AccountAt(id="alices"), {"alices": "alice-sub"})
    except UnauthorizedError:
        return False
    return True


def refused(evaluation) -> bool:
    if evaluation.outcome != "error":
        return False
    assert evaluation.error["errorType"] == "Unauthorized"
    assert "alice-sub" not in evaluation.error["message"]
    return True


@pytest.mark.parametrize("name", IDENTITIES)
def test_account_is_for_its_owner_admins_and_services_as_the_policy_says(runtime, name):
    # GIVEN alice's account item WHEN a caller's Query.account gets it back
    evaluation = runtime.run("Query.account.js", "response", ctx(IDENTITIES[name], ALICES, id="alices"))
    # THEN it is refused exactly when the command Lambda's policy refuses the same caller
    assert refused(evaluation) is not policy_allows(IDENTITIES[name])
    assert name not in ("alice", "ops", "service", "api key") or evaluation.value == ALICES


def test_a_missing_account_is_null_for_everyone(runtime):
    evaluation = runtime.run("Query.account.js", "response", ctx(IDENTITIES["bob"], None, id="ghost"))
    assert (evaluation.outcome, evaluation.value) == ("ok", None)


@pytest.mark.parametrize("name", IDENTITIES)
def test_ledger_is_for_the_accounts_owner_admins_and_services(runtime, name):
    # GIVEN a page of alice's entries (each carries her as the owner)
    page = {"items": [{"accountId": "alices", "version": v, "ownerId": "alice-sub"} for v in (1, 2)], "nextToken": None}
    evaluation = runtime.run("Query.ledger.js", "response", ctx(IDENTITIES[name], page, accountId="alices"))
    # THEN it is refused exactly when the policy refuses
    assert refused(evaluation) is not policy_allows(IDENTITIES[name])


def test_an_empty_ledger_page_is_empty_for_everyone(runtime):
    evaluation = runtime.run("Query.ledger.js", "response",
                             ctx(IDENTITIES["bob"], {"items": [], "nextToken": None}, accountId="ghost"))
    assert evaluation.value == {"items": [], "nextToken": None}


def owner_queried(request: dict) -> str:
    [value] = request["query"]["expressionValues"].values()
    return value["S"]


@pytest.mark.parametrize("name", ["alice", "bob", "ops", "oidc user"])
def test_accounts_without_owner_lists_the_callers_own(runtime, name):
    identity = IDENTITIES[name]
    request = runtime.run("Query.accounts.js", "request", ctx(identity)).value
    assert owner_queried(request) == identity["sub"]


@pytest.mark.parametrize("name", ["service", "api key"])
def test_accounts_without_owner_needs_a_user(runtime, name):
    evaluation = runtime.run("Query.accounts.js", "request", ctx(IDENTITIES[name]))
    assert (evaluation.error["errorType"], evaluation.error["errorInfo"]) == ("ValidationError", {"fields": ["ownerId"]})


@pytest.mark.parametrize("name", IDENTITIES)
def test_another_owners_accounts_only_for_admins_and_services(runtime, name):
    # WHEN a caller lists alice's accounts by ownerId
    evaluation = runtime.run("Query.accounts.js", "request", ctx(IDENTITIES[name], ownerId="alice-sub"))
    # THEN alice, admins, services and the key may; other users are refused before any read
    assert refused(evaluation) is not policy_allows(IDENTITIES[name])
    if evaluation.outcome == "ok":
        assert owner_queried(evaluation.value) == "alice-sub"


def test_on_account_updated_reads_the_account_first(runtime):
    request = runtime.run("Subscription.onAccountUpdated.js", "request", ctx(IDENTITIES["bob"], accountId="alices"))
    assert request.value == {"operation": "GetItem", "key": {"id": {"S": "alices"}}}


def test_on_account_updated_refuses_a_malformed_id_before_reading(runtime):
    evaluation = runtime.run("Subscription.onAccountUpdated.js", "request", ctx(IDENTITIES["alice"], accountId="a b"))
    assert evaluation.error["errorType"] == "ValidationError"


UPDATE = {"accountId": "alices", "balance": 6, "version": 2, "status": "OPEN", "updatedAt": "2026-01-01T00:00:00Z",
          "ownerId": "alice-sub"}


@pytest.mark.parametrize("name, delivered", [("alice", True), ("bob", None), ("ops", True), ("oidc admin", True)])
def test_on_account_updated_refuses_another_users_account(runtime, name, delivered):
    # GIVEN alice's account WHEN a user subscribes to it
    evaluation = runtime.run("Subscription.onAccountUpdated.js", "response",
                             ctx(IDENTITIES[name], ALICES, accountId="alices"))
    # THEN bob is refused; alice and admins get a filter that lets alice's updates through
    if delivered is None:
        assert refused(evaluation)
    else:
        assert filter_matches(evaluation.subscription_filter, UPDATE)
        assert not filter_matches(evaluation.subscription_filter, UPDATE | {"accountId": "bobs"})


def test_a_subscription_to_an_account_not_opened_yet_never_delivers_another_owners_updates(runtime):
    # GIVEN bob subscribes to an id nobody has opened (the read finds nothing)
    evaluation = runtime.run("Subscription.onAccountUpdated.js", "response",
                             ctx(IDENTITIES["bob"], None, accountId="alices"))
    # WHEN alice later opens that id THEN her updates do not reach bob; his own would
    assert evaluation.outcome == "ok"
    assert not filter_matches(evaluation.subscription_filter, UPDATE)
    assert filter_matches(evaluation.subscription_filter, UPDATE | {"ownerId": "bob-sub"})


@pytest.mark.parametrize("name", ["alice", "ops", "oidc user"])
def test_on_my_accounts_updated_filters_on_the_callers_sub(runtime, name):
    identity = IDENTITIES[name]
    evaluation = runtime.run("Subscription.onMyAccountsUpdated.js", "response", ctx(identity))
    assert evaluation.subscription_filter == {
        "filterGroup": [{"filters": [{"fieldName": "ownerId", "operator": "eq", "value": identity["sub"]}]}]}


@pytest.mark.parametrize("name", ["service", "api key"])
def test_on_my_accounts_updated_needs_a_user(runtime, name):
    evaluation = runtime.run("Subscription.onMyAccountsUpdated.js", "response", ctx(IDENTITIES[name]))
    assert evaluation.error["errorType"] == "Unauthorized"


def copied_block(text: str, start: str) -> str:
    begin = text.index(start)
    return text[begin:text.index("\n}\n", begin) + 3]


@pytest.mark.parametrize("start", ['// DESIGN section 3 "Who may call what"', "function unauthorized("])
def test_every_copy_of_the_rule_is_the_same(start):
    # APPSYNC_JS cannot import between resolver files: each carries the rule; no copy may drift
    texts = [(RESOLVER_DIR / f).read_text() for f in sorted(set(API_SPEC.code_files))]
    copies = {copied_block(t, start) for t in texts if start in t}
    assert len(copies) == 1
    assert sum(start in t for t in texts) >= 3
