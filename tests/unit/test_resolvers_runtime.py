"""The local APPSYNC_JS runtime: import rewriting, AppSync control flow, and loud failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantry.appsync.jsruntime import (NotImplementedLocallyError, ResolverCodeError, ResolverRuntime,
                                        ResolverTimeoutError, UnsupportedModuleError)

pytestmark = pytest.mark.unit

CTX = {"arguments": {"id": "a"}, "stash": {}, "identity": None, "source": None, "request": {"headers": {}}, "info": {}}


def runtime_with(tmp_path: Path, source: str) -> ResolverRuntime:
    (tmp_path / "r.js").write_text(source)
    return ResolverRuntime(tmp_path, ["r.js"])


def test_unknown_util_member_fails_loudly_naming_it(tmp_path):
    source = "import { util } from '@aws-appsync/utils';\nexport function request(ctx) { return util.dynamodb.toS('x'); }"
    with runtime_with(tmp_path, source) as rt, pytest.raises(NotImplementedLocallyError) as raised:
        rt.run("r.js", "request", CTX)
    assert raised.value.detail == "@aws-appsync/utils: util.dynamodb.toS is not implemented by the local runtime"


def test_unknown_top_level_import_fails_loudly_at_load(tmp_path):
    source = "import { sql } from '@aws-appsync/utils';\nexport function request(ctx) { return {}; }"
    with pytest.raises(UnsupportedModuleError):
        runtime_with(tmp_path, source)


def test_other_modules_cannot_be_imported(tmp_path):
    source = "import { get } from '@aws-appsync/utils/dynamodb';\nexport function request(ctx) { return get({}); }"
    with pytest.raises(UnsupportedModuleError) as raised:
        runtime_with(tmp_path, source)
    assert raised.value.code_file == "r.js"


@pytest.mark.parametrize("header, expression", [
    ("import { util as u } from '@aws-appsync/utils';", "u.autoId()"),
    ("import * as utils from '@aws-appsync/utils';", "utils.util.autoId()"),
    ('import { util } from "@aws-appsync/utils"', "util.autoId()"),
])
def test_import_forms_are_supported_as_written(tmp_path, header, expression):
    source = f"{header}\nexport function request(ctx) {{ return {{ id: {expression} }}; }}"
    with runtime_with(tmp_path, source) as rt:
        assert len(rt.run("r.js", "request", CTX).value["id"]) == 36


def test_early_return_skips_the_data_source(tmp_path):
    source = ("import { runtime } from '@aws-appsync/utils';\n"
              "export function request(ctx) { runtime.earlyReturn({ cached: true }); }")
    with runtime_with(tmp_path, source) as rt:
        evaluation = rt.run("r.js", "request", CTX)
    assert (evaluation.outcome, evaluation.value) == ("early_return", {"cached": True})


def test_append_error_keeps_the_data_and_the_stash_survives(tmp_path):
    source = ("import { util } from '@aws-appsync/utils';\n"
              "export function request(ctx) { ctx.stash.seen = ctx.args.id; "
              "util.appendError('partial', 'Partial'); return { ok: true }; }")
    with runtime_with(tmp_path, source) as rt:
        evaluation = rt.run("r.js", "request", CTX)
    assert evaluation.value == {"ok": True}
    assert evaluation.stash == {"seen": "a"}
    assert evaluation.appended_errors == [{"message": "partial", "errorType": "Partial", "data": None, "errorInfo": None}]


def test_time_and_dynamodb_helpers(tmp_path):
    source = ("import { util } from '@aws-appsync/utils';\n"
              "export function request(ctx) { return { at: util.time.nowISO8601(), "
              "item: util.dynamodb.toMapValues({ n: 1, b: true, l: ['x'], m: { z: null } }) }; }")
    with runtime_with(tmp_path, source) as rt:
        value = rt.run("r.js", "request", CTX).value
    assert value["at"].endswith("Z")
    assert value["item"] == {"n": {"N": 1}, "b": {"BOOL": True}, "l": {"L": [{"S": "x"}]}, "m": {"M": {"z": {"NULL": True}}}}


def test_a_bug_in_a_resolver_is_raised_not_swallowed(tmp_path):
    with runtime_with(tmp_path, "export function request(ctx) { return ctx.nope.deeper; }") as rt:
        with pytest.raises(ResolverCodeError) as raised:
            rt.run("r.js", "request", CTX)
    assert raised.value.phase == "request"


def test_unsupported_export_forms_are_refused(tmp_path):
    with pytest.raises(UnsupportedModuleError):
        runtime_with(tmp_path, "export default function request(ctx) { return {}; }")


def test_a_closed_runtime_cannot_run(tmp_path):
    rt = runtime_with(tmp_path, "export function request(ctx) { return {}; }")
    rt.close()
    with pytest.raises(Exception):
        rt.run("r.js", "request", CTX)


def test_console_output_is_returned_per_evaluation(tmp_path):
    # GIVEN a handler that logs a string and an object WHEN it runs twice
    source = "export function request(ctx) { console.error('failed', { id: ctx.args.id }); console.log('n', 1); return {}; }"
    with runtime_with(tmp_path, source) as rt:
        first, second = rt.run("r.js", "request", CTX), rt.run("r.js", "request", CTX)
    # THEN each evaluation carries its own lines, levels kept, objects as JSON
    expected = [{"level": "ERROR", "message": 'failed {"id":"a"}'}, {"level": "INFO", "message": "n 1"}]
    assert first.logs == expected and second.logs == expected


def test_an_unknown_console_member_fails_loudly(tmp_path):
    with runtime_with(tmp_path, "export function request(ctx) { console.table([]); return {}; }") as rt, \
            pytest.raises(NotImplementedLocallyError) as raised:
        rt.run("r.js", "request", CTX)
    assert "console.table" in raised.value.detail


def test_an_endless_handler_times_out_and_the_runtime_keeps_serving(tmp_path):
    # GIVEN a handler that never returns, and a runtime with a short evaluation limit
    (tmp_path / "r.js").write_text(
        "export function request(ctx) { if (ctx.arguments.id === 'loop') { while (true) {} } return {}; }")
    with ResolverRuntime(tmp_path, ["r.js"], timeout_s=0.5) as rt:
        # WHEN it is called THEN it is a typed timeout
        with pytest.raises(ResolverTimeoutError) as raised:
            rt.run("r.js", "request", {**CTX, "arguments": {"id": "loop"}})
        assert (raised.value.code_file, raised.value.phase) == ("r.js", "request")
        # AND the next call is served, by a fresh context
        assert rt.run("r.js", "request", CTX).outcome == "ok"
        assert rt.pool.contexts_created == 2
