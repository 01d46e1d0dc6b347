"""The hot-reload watcher: which files it watches, and one call per settled edit."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tenantry.local.reload import Sources, Watcher, changed

pytestmark = pytest.mark.unit


@pytest.fixture
def sources(tmp_path) -> Sources:
    for folder in ("resolvers", "lambdas/banking", "tenants", "platform/tenantry"):
        (tmp_path / folder).mkdir(parents=True)
    return Sources(tmp_path / "resolvers", tmp_path / "lambdas", tmp_path / "tenants",
                   (tmp_path / "platform" / "tenantry", tmp_path / "__main__.py"))


@pytest.mark.parametrize("relative, watched", [
    ("resolvers/Query.account.js", True),
    ("resolvers/schema.graphql", True),
    ("resolvers/node_modules/x/index.js", False),
    ("resolvers/package.json", False),
    ("resolvers/.Query.account.js.swp", False),
    ("lambdas/banking/decide.py", True),
    ("lambdas/banking/decide.py~", False),
    ("tenants/acme.yaml", True),
    ("tenants/notes.txt", False),
    ("platform/tenantry/cli.py", True),
    ("__main__.py", True),
])
def test_only_the_files_tenantry_dev_runs_are_watched(sources, tmp_path, relative, watched):
    assert sources.watched(tmp_path / relative) is watched


def test_a_snapshot_sees_edits_new_files_and_removals(sources, tmp_path):
    # GIVEN a snapshot of a resolver and a Lambda module
    resolver, module = tmp_path / "resolvers" / "Q.js", tmp_path / "lambdas" / "banking" / "m.py"
    resolver.write_text("a")
    module.write_text("a")
    before = sources.snapshot()
    # WHEN one is edited, one removed and a tenant file added
    resolver.write_text("ab")
    module.unlink()
    (tmp_path / "tenants" / "new.yaml").write_text("name: new")
    # THEN all three are changes
    assert changed(before, sources.snapshot()) == {resolver, module, tmp_path / "tenants" / "new.yaml"}


class ScriptedSources:
    """Snapshots in a given order (then the last one for ever): a save in several steps."""

    def __init__(self, snapshots: list[dict]) -> None:
        self._snapshots = snapshots

    def snapshot(self) -> dict:
        return self._snapshots.pop(0) if len(self._snapshots) > 1 else self._snapshots[0]


def test_an_edit_in_several_steps_is_handled_once_when_it_has_settled():
    # GIVEN files that change over two polls in a row (truncate, then write), then stay put
    a, b = Path("/p/a.js"), Path("/p/b.py")
    steps = [{a: (1, 0)}, {a: (2, 0)}, {a: (3, 5), b: (3, 1)}, {a: (3, 5), b: (3, 1)}]
    calls: list[set] = []
    done = threading.Event()
    watcher = Watcher(ScriptedSources(steps), lambda paths: (calls.append(paths), done.set()), poll_s=0.001)
    # WHEN it watches until it has reported
    watcher.start()
    assert done.wait(10)
    watcher.stop()
    # THEN both files came in one call
    assert calls == [{a, b}]
