"""One definition of each input limit on both sides of the API: the resolvers (APPSYNC_JS in V8)
and the command Lambda's pydantic validators accept and refuse the same ownerIds and ids, and the
resolvers clamp `limit` as lambdas/banking/rules.py says.

The Python side is fed what it receives through Lambda's JSON boundary (json round trip), which is
also where a surrogate pair written as two escapes becomes one character."""

from __future__ import annotations

import json

import pytest
from pydantic import TypeAdapter, ValidationError

from lambdas.banking import rules
from lambdas.banking.commands import Id, OwnerId

pytestmark = pytest.mark.unit

EMOJI, ASTRAL_LETTER = "\U0001F600", "\U0001D518"   # both outside the BMP: two UTF-16 units each
LIMIT = rules.MAX_OWNER_ID_LENGTH

OWNER_IDS = [   # (ownerId, accepted by both sides)
    ("alice", True),
    ("", False),
    ("a" * LIMIT, True), ("a" * (LIMIT + 1), False),                            # ASCII, at the limit and past it
    ("é" * LIMIT, True), ("é" * (LIMIT + 1), False),                            # precomposed accent: one unit
    ("e\u0301" * (LIMIT // 2), True), ("e\u0301" * (LIMIT // 2) + "e", False),  # combining accent: a unit of its own
    ("中" * LIMIT, True), ("中" * (LIMIT + 1), False),                          # CJK
    (EMOJI * (LIMIT // 2), True), (EMOJI * (LIMIT // 2) + "a", False),          # emoji: two units
    (EMOJI * 100, False),                                                       # what the fuzzer opened, then could not list
    ("a" * (LIMIT - 1) + EMOJI, False),                                         # 128 code points, 129 units
    ("a" * (LIMIT - 2) + EMOJI, True),
    (ASTRAL_LETTER * (LIMIT // 2), True),
    ("\U0010FFFF", True),
    ("\ud83d\ude00", True),                                                     # a pair as two escapes: the emoji
    ("\ud800", False), ("a\udc00b", False), ("\udc00\ud800", False),            # lone surrogates
    (EMOJI + "\ud83d", False),
    ("a\x00b", False), ("line\nbreak", False), ("tab\t", False), ("\x1f", False), ("alice\n", False),
    ("\x7f", True), ("\x80", True), (" ", True), ("\u2028", True), ("\ufeff", True),
]

IDS = [   # (id, accepted by both sides)
    ("a", True), ("A-z_0-9", True), ("-", True), ("a" * 64, True), ("a" * 65, False), ("", False),
    ("a b", False), ("abc\n", False), ("\nabc", False), ("a/b", False), ("a.b", False), ("é", False),
    ("\u0661\u0662", False),      # Arabic-Indic digits
    ("\uff41", False),            # fullwidth a
    ("\u212a", False),            # Kelvin sign, which case-folds to K
    (EMOJI, False), ("\ud800", False),
]


def via_lambda_json(value: str) -> str:
    return json.loads(json.dumps(value))


def python_accepts(adapter: TypeAdapter, value: str) -> bool:
    try:
        adapter.validate_python(via_lambda_json(value))
    except ValidationError:
        return False
    return True


def js_accepts(runtime, code_file: str, argument: str, value: str) -> bool:
    ctx = {"arguments": {argument: value}, "identity": None, "source": None, "stash": {}, "prev": None,
           "request": {"headers": {}}, "info": {}}
    evaluation = runtime.run(code_file, "request", ctx)
    assert evaluation.outcome == "ok" or evaluation.error["errorType"] == "ValidationError"
    return evaluation.outcome == "ok"


@pytest.mark.parametrize("owner_id, accepted", OWNER_IDS, ids=[f"owner{i}" for i in range(len(OWNER_IDS))])
def test_an_owner_id_is_accepted_by_open_account_exactly_when_accounts_accepts_it(runtime, owner_id, accepted):
    # GIVEN an ownerId WHEN openAccount's validator and the accounts resolver check it
    by_python = python_accepts(TypeAdapter(OwnerId), owner_id)
    by_js = js_accepts(runtime, "Query.accounts.js", "ownerId", owner_id)
    # THEN they agree, and on the expected answer
    assert (by_python, by_js) == (accepted, accepted)


@pytest.mark.parametrize("code_file, argument", [("Query.account.js", "id"), ("Query.ledger.js", "accountId")])
@pytest.mark.parametrize("value, accepted", IDS, ids=[f"id{i}" for i in range(len(IDS))])
def test_an_id_is_accepted_by_the_commands_exactly_when_the_queries_accept_it(runtime, code_file, argument,
                                                                             value, accepted):
    assert (python_accepts(TypeAdapter(Id), value), js_accepts(runtime, code_file, argument, value)) == (accepted, accepted)


@pytest.mark.parametrize("code_file, key", [("Query.accounts.js", "ownerId"), ("Query.ledger.js", "accountId")])
@pytest.mark.parametrize("limit", [None, -2**31, -1, 0, 1, 2, 49, 50, 51, 99, 100, 101, 2**31 - 1])
def test_the_page_limit_is_the_one_rules_defines(runtime, code_file, key, limit):
    # GIVEN a requested limit WHEN a paged resolver builds its request THEN it is rules' default or clamp
    expected = rules.DEFAULT_PAGE_LIMIT if limit is None else min(max(limit, rules.MIN_PAGE_LIMIT), rules.MAX_PAGE_LIMIT)
    ctx = {"arguments": {key: "x", "limit": limit}, "identity": None, "source": None, "stash": {}, "prev": None,
           "request": {"headers": {}}, "info": {}}
    assert runtime.run(code_file, "request", ctx).value["limit"] == expected


def test_utf16_length_counts_what_javascript_length_counts(runtime):
    # GIVEN strings of every kind WHEN measured by rules.utf16_length and by V8's .length THEN equal
    samples = [value for value, _ in OWNER_IDS]
    lengths = json.loads(runtime.pool.evaluate(f"JSON.stringify(JSON.parse({json.dumps(json.dumps(samples))})"
                                               ".map(function (s) {{ return s.length; }}))"))
    assert lengths == [rules.utf16_length(value) for value in samples]
