"""Runs APPSYNC_JS resolver files unchanged in an embedded V8 (mini-racer).

The only rewrite is mechanical: `import ... from '@aws-appsync/utils'` becomes a destructuring of
the local shim and `export` keywords are dropped, so one V8 context can hold every resolver. Any
other import, and any utils member the shim lacks, fails loudly. Contexts come from
`tenantry.appsync.v8`, the only code that may talk to V8 (it owns the thread rule V8 needs).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tenantry.appsync import v8
from tenantry.appsync._shim import SHIM_JS

UTILS_MODULE = "@aws-appsync/utils"
Phase = Literal["request", "response"]

_IMPORT = re.compile(r"^[ \t]*import\s+(?P<clause>[^;]*?)\s+from\s+['\"](?P<module>[^'\"]+)['\"][ \t]*;?", re.M)
_BARE_IMPORT = re.compile(r"^\s*import\s+['\"]", re.M)
_EXPORT = re.compile(r"^(\s*)export\s+(?=(async\s+)?function\b|const\b|let\b|var\b|class\b)", re.M)
_EXPORT_OTHER = re.compile(r"^\s*export\s", re.M)


class ResolverRuntimeError(Exception):
    """Base class of the local resolver runtime's failures."""


class UnsupportedModuleError(ResolverRuntimeError):
    """A resolver file uses a module feature the local runtime cannot load."""

    def __init__(self, code_file: str, detail: str) -> None:
        super().__init__(f"{code_file}: {detail}")
        self.code_file = code_file
        self.detail = detail


class NotImplementedLocallyError(ResolverRuntimeError):
    """The resolver used a utils member the local runtime does not implement."""

    def __init__(self, code_file: str, phase: str, detail: str) -> None:
        super().__init__(f"{code_file} {phase}: {detail}")
        self.code_file = code_file
        self.phase = phase
        self.detail = detail


class ResolverCodeError(ResolverRuntimeError):
    """The resolver threw something other than util.error (a bug in the resolver)."""

    def __init__(self, code_file: str, phase: str, detail: str) -> None:
        super().__init__(f"{code_file} {phase}: {detail}")
        self.code_file = code_file
        self.phase = phase
        self.detail = detail


@dataclass(frozen=True)
class Evaluation:
    outcome: Literal["ok", "error", "early_return"]
    value: Any = None                       # handler return value (or earlyReturn's argument)
    error: dict | None = None               # util.error: {message, errorType, data, errorInfo}
    appended_errors: list[dict] = field(default_factory=list)
    stash: dict = field(default_factory=dict)
    subscription_filter: dict | None = None
    logs: list[dict] = field(default_factory=list)   # console.*: [{level, message}]


def to_script(code_file: str, source: str) -> str:
    """Rewrite one ES module into a script that registers its handlers in the shim."""

    def replace_import(match: re.Match[str]) -> str:
        if match["module"] != UTILS_MODULE:
            raise UnsupportedModuleError(code_file, f"imports {match['module']!r}; only {UTILS_MODULE!r} is available")
        clause = match["clause"].strip()
        if clause.startswith("* as "):
            return f"const {clause[5:].strip()} = __tenantry.utils;"
        if clause.startswith("{") and clause.endswith("}"):
            names = [n.strip() for n in clause[1:-1].split(",") if n.strip()]
            pattern = ", ".join(_binding(n) for n in names)
            return f"const {{ {pattern} }} = __tenantry.utils;"
        raise UnsupportedModuleError(code_file, f"unsupported import form {clause!r}")

    if _BARE_IMPORT.search(source):
        raise UnsupportedModuleError(code_file, "side-effect imports are not supported")
    body = _EXPORT.sub(r"\1", _IMPORT.sub(replace_import, source))
    if _EXPORT_OTHER.search(body):
        raise UnsupportedModuleError(code_file, "only `export function|const|let` declarations are supported")
    handlers = "{ request: typeof request === 'function' ? request : undefined, " \
               "response: typeof response === 'function' ? response : undefined }"
    return f"__tenantry.modules[{json.dumps(code_file)}] = (function () {{\n{body}\nreturn {handlers};\n}})();\n"


def _binding(name: str) -> str:
    original, _, alias = (part.strip() for part in name.partition(" as "))
    return f"{original}: {alias}" if alias else original


def compile_scripts(resolver_dir: Path, code_files: Iterable[str]) -> dict[str, str]:
    """code file -> the script a V8 context evaluates for it: once per API, for all its contexts."""
    return {code_file: to_script(code_file, (resolver_dir / code_file).read_text(encoding="utf-8"))
            for code_file in sorted(set(code_files))}


class ResolverTimeoutError(ResolverRuntimeError):
    """A handler ran past the evaluation time limit (an endless loop, most likely)."""

    def __init__(self, code_file: str, phase: str, timeout_s: float) -> None:
        super().__init__(f"{code_file} {phase}: did not finish within {timeout_s:g}s")
        self.code_file = code_file
        self.phase = phase
        self.timeout_s = timeout_s


class ResolverRuntime:
    """The resolver files of one API, loaded into up to `contexts` V8 contexts that evaluate
    concurrently (`tenantry.appsync.v8.ContextPool`). Thread-safe. Close it (or use `with`).

    `scripts`, when given, are `compile_scripts(resolver_dir, code_files)` computed beforehand.
    """

    def __init__(self, resolver_dir: Path, code_files: Iterable[str],
                 scripts: Mapping[str, str] | None = None, *, contexts: int = 1,
                 timeout_s: float = v8.DEFAULT_TIMEOUT_S, name: str = "resolvers"):
        if scripts is None:
            scripts = compile_scripts(resolver_dir, code_files)
        try:
            self._pool = v8.ContextPool(name, [("@aws-appsync/utils shim", SHIM_JS), *scripts.items()],
                                        size=contexts, timeout_s=timeout_s)
        except v8.ScriptLoadError as exc:
            raise UnsupportedModuleError(exc.script, exc.detail) from exc
        self._loaded = frozenset(scripts)
        self._timeout_s = timeout_s

    def __enter__(self) -> "ResolverRuntime":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def pool(self) -> v8.ContextPool:
        return self._pool

    def close(self) -> None:
        self._pool.close()

    def run(self, code_file: str, phase: Phase, ctx: dict) -> Evaluation:
        if code_file not in self._loaded:
            raise KeyError(f"resolver file not loaded: {code_file}")
        # The shim returns JSON text: one string crosses the V8 boundary each way.
        call = f"__tenantry.invoke({json.dumps(code_file)}, {json.dumps(phase)}, {json.dumps(json.dumps(ctx))})"
        try:
            raw = self._pool.evaluate(call)
        except v8.EvaluationTimeoutError as exc:
            raise ResolverTimeoutError(code_file, phase, exc.timeout_s) from exc
        except (v8.EvaluationError, v8.EvaluationMemoryError) as exc:
            raise ResolverCodeError(code_file, phase, str(exc)) from exc
        result = json.loads(raw)
        kind = result["outcome"]
        if kind == "not_implemented":
            raise NotImplementedLocallyError(code_file, phase, result["message"])
        if kind == "code_error":
            raise ResolverCodeError(code_file, phase, result["message"])
        return Evaluation(
            outcome=kind,
            value=result.get("value"),
            error=result.get("error"),
            appended_errors=result["errors"],
            stash=result["stash"] if result["stash"] is not None else {},
            subscription_filter=result["filter"],
            logs=result["logs"],
        )
