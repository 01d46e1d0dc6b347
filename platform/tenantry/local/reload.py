"""Hot reload for `tenantry dev`: edits under resolvers/ and lambdas/ serve from the next request.

A `Watcher` thread polls the files' modification times every `POLL_S` and acts once a poll sees
nothing newer (editors save in steps: truncate, write, rename), so one save is one reload. Polling
costs a few hundred `stat` calls a tick, needs no native watcher, and works the same on every file
system a project may sit on (network and container mounts included).

What an edit does (`Reloader.handle`):
- `resolvers/*.js`: every tenant whose API declares that file loads the new code into a new set of
  V8 contexts (`FieldExecutor.reload`); the next field runs it, fields in flight finish on the old.
  The declared resolver code is the file's text as is (`tenantry.components.api`), so re-reading the
  file is what re-declaring would give, without running the Pulumi program.
- `lambdas/**.py`: a new deployment of the zip. Every function of every tenant is cold-started in
  a fresh generation of the `lambdas` package (`tenantry.local.modulespace`) before any switches,
  so module-level state (Powertools Logger/Metrics, boto3 clients, caches) is made anew; the next
  invocation or batch runs it, a batch in flight finishes on the old code.
- An edit that does not load (a syntax error, an import that fails, a module that raises) changes
  nothing: the previous code keeps serving and the error names the file and line. Serving the last
  good code rather than failing requests keeps a half-saved file from pushing the projector's
  batches into retries and the failure queue, which would change the local state for good.
- `tenants/<name>.yaml` and `resolvers/schema.graphql` change the declaration: the tenant is
  declared again (Pulumi mock runtime) and compared with what runs (`tenantry.local.reapply.plan`,
  hot-reloaded code left out), which says whether nothing changed, the change can be re-applied in
  place (`POST /_tenantry/<tenant>/apply`), or `tenantry dev` needs a restart. Nothing is applied.
- tenantry's own code (the Pulumi program included) and `__main__.py`: restart.
Each outcome is a line of the dev server's output and an event (`tenantry.local.reload_events`).
"""

from __future__ import annotations

import os
import re
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenantry.local.reload_events import ReloadEvents

POLL_S = 0.1
_V8_PLACE = re.compile(r"^<anonymous>:(?P<line>\d+): (?P<message>.*)$")
SKIPPED_DIRS = {"__pycache__", "node_modules", ".git"}

Snapshot = dict[Path, tuple[int, int]]


@dataclass(frozen=True)
class Sources:
    """The folders whose files `tenantry dev` runs: what it watches."""
    resolvers: Path          # tenantry.appsync.spec.RESOLVER_DIR: what the Pulumi program declares
    lambdas: Path            # where the `lambdas` package is imported from
    tenants: Path            # <root>/tenants
    program: tuple[Path, ...]     # tenantry's own code, <root>/__main__.py

    @classmethod
    def of(cls, root: Path) -> "Sources":
        import tenantry
        from tenantry.appsync.spec import RESOLVER_DIR
        from tenantry.local.lambda_runtime import CODE_PACKAGE
        from tenantry.local.modulespace import package_directory

        lambdas = package_directory(CODE_PACKAGE) or root / CODE_PACKAGE
        return cls(RESOLVER_DIR.resolve(), lambdas, (root / "tenants").resolve(),
                   (Path(tenantry.__file__).parent.resolve(), (root / "__main__.py").resolve()))

    def watched(self, path: Path) -> bool:
        if path.name.startswith((".", "#")) or path.name.endswith("~"):
            return False                 # editors' swap and backup files
        if path.is_relative_to(self.resolvers):
            return path.suffix in (".js", ".graphql") and path.parent == self.resolvers
        if path.is_relative_to(self.lambdas) or any(path.is_relative_to(p) for p in self.program):
            return path.suffix == ".py"
        return path.parent == self.tenants and path.suffix == ".yaml"

    def snapshot(self) -> Snapshot:
        seen: Snapshot = {}
        for top in (self.resolvers, self.lambdas, self.tenants, *self.program):
            for path in _files(top):
                if self.watched(path):
                    try:
                        stat = path.stat()
                    except FileNotFoundError:
                        continue
                    seen[path] = (stat.st_mtime_ns, stat.st_size)
        return seen


def _files(top: Path) -> Iterable[Path]:
    if top.is_file():
        yield top
        return
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        for name in files:
            yield Path(folder) / name


def changed(before: Snapshot, after: Snapshot) -> set[Path]:
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


class Watcher:
    """Polls `sources` and calls `on_change(paths)` on its own thread, once per settled edit."""

    def __init__(self, sources: Sources, on_change: Callable[[set[Path]], None],
                 poll_s: float = POLL_S) -> None:
        self._sources, self._on_change, self._poll_s = sources, on_change, poll_s
        self._stop = threading.Event()
        self._last = sources.snapshot()
        self._thread = threading.Thread(target=self._run, name="tenantry-reload", daemon=True)

    def start(self) -> "Watcher":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        pending: set[Path] = set()
        while not self._stop.wait(self._poll_s):
            now = self._sources.snapshot()
            fresh = changed(self._last, now)
            self._last = now
            pending |= fresh
            if pending and not fresh:          # settled: nothing newer since the last poll
                batch, pending = pending, set()
                try:
                    self._on_change(batch)
                except Exception:  # noqa: BLE001 - a reload bug must not end reloading
                    import logging

                    logging.getLogger("tenantry.local.reload").exception("hot reload failed")


class Reloader:
    """Turns a set of changed files into reloads and advice, and reports each."""

    def __init__(self, platform: Any, sources: Sources, events: ReloadEvents,
                 report: Callable[[dict, bool], None], after_lambdas: Callable[[], None] = lambda: None) -> None:
        self._platform, self._sources, self._events = platform, sources, events
        self._report, self._after_lambdas = report, after_lambdas
        self._spaces: list[Any] = []        # the Lambda code generations that replaced start-up's

    def handle(self, paths: set[Path]) -> None:
        s = self._sources
        resolvers = sorted(p for p in paths if p.parent == s.resolvers and p.suffix == ".js")
        lambdas = sorted(p for p in paths if p.is_relative_to(s.lambdas))
        declared = sorted(p for p in paths if p.parent == s.tenants or p.suffix == ".graphql")
        program = sorted(p for p in paths if any(p.is_relative_to(q) for q in s.program))
        if resolvers:
            self._resolvers(resolvers)
        if lambdas:
            self._lambdas(lambdas)
        for path in declared:
            self._declaration(path)
        if program:
            self._emit("restart", f"{_names(self._shown(p) for p in program)} changed: tenantry dev does "
                       "not reload its own code or the Pulumi program; restart tenantry dev",
                       files=[self._shown(p) for p in program], warning=True)

    # resolvers ---------------------------------------------------------------------------------
    def _resolvers(self, paths: list[Path]) -> None:
        from tenantry.appsync.jsruntime import ResolverRuntimeError

        executors = self._platform.resolver_executors()        # tenant -> (executor, code files, dir)
        for path in paths:
            shown, users = self._shown(path), [t for t, (_, files, _) in executors.items() if path.name in files]
            if not users:
                self._emit("unchanged", f"{shown} is not the code of a declared resolver: nothing reloaded "
                           "(tenantry.appsync.spec says which file serves which field)", files=[shown])
                continue
            try:
                source = path.read_text(encoding="utf-8")
            except (FileNotFoundError, UnicodeDecodeError) as exc:
                self._emit("error", f"{shown} cannot be read ({type(exc).__name__}): "
                           f"{_names(users)} keep serving the previous code", files=[shown], tenants=users)
                continue
            try:
                for tenant in users:
                    executor, _, folder = executors[tenant]
                    executor.reload({path.name: source})
                    (folder / path.name).write_text(source, encoding="utf-8")   # the declared copy
            except ResolverRuntimeError as exc:
                self._emit("error", f"{_resolver_detail(shown, exc, source)}; {_names(users)} keep "
                           "serving the previous code", files=[shown], tenants=users, error=str(exc))
                continue
            self._emit("resolvers", f"reloaded {shown} ({_names(users)})", files=[shown], tenants=users)

    # lambdas -----------------------------------------------------------------------------------
    def _lambdas(self, paths: list[Path]) -> None:
        from tenantry.local.errors import LambdaInvocationError
        from tenantry.local.lambda_runtime import CODE_PACKAGE
        from tenantry.local.modulespace import ModuleSpace

        files = [self._shown(p) for p in paths]
        runtimes = self._platform.lambda_runtimes()          # tenant -> LambdaRuntime
        space = ModuleSpace.fresh(CODE_PACKAGE)
        prepared = {}
        try:
            for tenant, runtime in runtimes.items():
                prepared[tenant] = runtime.prepare(space)
        except LambdaInvocationError as exc:
            space.discard()
            self._emit("error", f"lambdas do not load: {self._where(exc)} ({exc.function} cannot start); "
                       "the previous code keeps serving", files=files, tenants=list(runtimes),
                       error=str(exc), function=exc.function)
            return
        for tenant, runtime in runtimes.items():
            runtime.adopt(space, prepared[tenant])
        self._retire(space)
        self._after_lambdas()
        functions = {t: sorted(_short(t, f) for f in prepared[t]) for t in runtimes}
        listed = "; ".join(f"{t}: {', '.join(fs)}" for t, fs in functions.items())
        count = len(files)
        self._emit("lambdas", f"reloaded lambdas ({count} module{'s' * (count != 1)} changed: "
                   f"{_names(files)}): the next invocation of every function runs the new code, "
                   f"cold-started ({listed}); batches in flight finish on the old code",
                   files=files, tenants=list(runtimes), functions=functions, generation=space.generation)

    def _retire(self, space: Any) -> None:
        """Keep the generation it replaced (what is still running may import lazily from it)."""
        self._spaces.append(space)
        while len(self._spaces) > 2:
            self._spaces.pop(0).discard()

    # declarations ------------------------------------------------------------------------------
    def _declaration(self, path: Path) -> None:
        from tenantry.local import declaration_check

        shown = self._shown(path)
        if path.suffix == ".graphql":
            tenants = list(self._platform.tenants)
        else:
            tenants = [path.stem]
        for tenant in tenants:
            verdict, message, detail = declaration_check.check(self._platform, tenant, shown)
            self._emit(verdict, message, files=[shown], tenants=[tenant],
                       warning=verdict in ("restart", "error"), **detail)

    # reporting ---------------------------------------------------------------------------------
    def _emit(self, reload: str, message: str, *, warning: bool | None = None, **fields: Any) -> None:
        event = self._events.publish(reload, message, **fields)
        self._report(event, reload == "error" if warning is None else warning)

    def _shown(self, path: Path) -> str:
        """`resolvers/Query.account.js`, `lambdas/banking/decide.py`, `tenants/acme.yaml`, ..."""
        for base in (self._sources.resolvers.parent, self._sources.lambdas.parent, self._platform.root):
            try:
                return path.resolve().relative_to(Path(base).resolve()).as_posix()
            except ValueError:
                continue
        return str(path)

    def _where(self, exc: BaseException) -> str:
        """`lambdas/x.py:12: SyntaxError: ...`: the innermost line of the edited code that failed."""
        cause = exc.__cause__ or exc
        if isinstance(cause, SyntaxError) and cause.filename:
            return f"{self._shown(Path(cause.filename))}:{cause.lineno}: SyntaxError: {cause.msg}"
        frames = [f for f in traceback.extract_tb(cause.__traceback__)
                  if Path(f.filename).resolve().is_relative_to(self._sources.lambdas)]
        place = f"{self._shown(Path(frames[-1].filename))}:{frames[-1].lineno}: " if frames else ""
        return f"{place}{type(cause).__name__}: {cause}"


def _resolver_detail(shown: str, exc: BaseException, source: str) -> str:
    """`resolvers/X.js:12: SyntaxError: ...` from V8's `<anonymous>:13: SyntaxError: ...` (the
    script V8 ran wraps the file in one line: `tenantry.appsync.jsruntime.to_script`)."""
    detail = str(getattr(exc, "detail", None) or exc)
    first = detail.strip().splitlines()[0] if detail.strip() else type(exc).__name__
    found = _V8_PLACE.match(first)
    if not found:
        return f"{shown} does not load: {first}"
    line = int(found["line"]) - 1
    where = f"{shown}:{line}" if line <= len(source.splitlines()) else f"{shown}: at the end of the file"
    return f"{where}: {found['message']}"


def _short(tenant: str, function: str) -> str:
    return function.removeprefix(f"tenantry-{tenant}-")


def _names(items: Iterable[str]) -> str:
    return ", ".join(items)


def start(platform: Any, events: ReloadEvents, report: Callable[[dict, bool], None],
          after_lambdas: Callable[[], None] = lambda: None) -> Watcher:
    """Watch what `platform` runs; the caller stops the watcher."""
    sources = Sources.of(platform.root)
    reloader = Reloader(platform, sources, events, report, after_lambdas)
    platform.hot_reload = True      # its re-apply now takes the running code as current
    return Watcher(sources, reloader.handle).start()

