"""Generations of the Lambda code package: each a fresh module space, as a new container has.

A Lambda execution environment imports the function's zip (here: the `lambdas` package) into a new
interpreter. In-process, `tenantry dev` gets the same effect for reloaded code by importing the
package again under a new top-level name per generation: `lambdas__gen2`, `lambdas__gen3`, ...
Every module of a generation runs with its own `__import__` (set as the `__builtins__` of its
globals), which maps an absolute `lambdas...` import to the same generation, so
`from lambdas.eventstore import keys`, relative imports and imports made later inside functions
all stay in that generation; everything else (`pydantic`, `boto3`, Powertools, `tests...`) is the
ordinary, shared import. The modules are registered in `sys.modules` under their generation's name,
which is what pydantic and dataclasses look annotations up through.

Generation 1 is the package as Python imports it normally: the one `tenantry` itself imports
(`lambdas.handlers.settings`, `lambdas.eventstore.keys`, ...), so start-up costs no second import and
those imports never change while `tenantry dev` runs. Reloaded generations compile from source,
never from `__pycache__`: a .pyc is trusted by the source's mtime in whole seconds and its size, so
two edits of the same length within a second would otherwise load the older code.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.machinery
import importlib.util
import itertools
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

_numbers = itertools.count(2)
_spaces: dict[str, "ModuleSpace"] = {}       # generation prefix -> space, for the finder
_spaces_lock = threading.Lock()
_real_import = builtins.__import__


class ModuleSpace:
    """One generation of `package`: where its modules live in `sys.modules`, and how to load them."""

    def __init__(self, package: str, generation: int) -> None:
        self.package = package
        self.generation = generation
        self.prefix = package if generation == 1 else f"{package}__gen{generation}"
        self.builtins: dict[str, Any] | None = None
        if generation > 1:
            self.builtins = {**vars(builtins), "__import__": self._import}

    @classmethod
    def ordinary(cls, package: str) -> "ModuleSpace":
        return cls(package, 1)

    @classmethod
    def fresh(cls, package: str) -> "ModuleSpace":
        """A new generation, found by the import system from now on (`discard` forgets it)."""
        space = cls(package, next(_numbers))
        _install_finder()
        with _spaces_lock:
            _spaces[space.prefix] = space
        return space

    def owns(self, module_path: str) -> bool:
        return module_path == self.package or module_path.startswith(self.package + ".")

    def name_of(self, module_path: str) -> str:
        """`lambdas.handlers.x` -> this generation's name for it; other modules keep theirs."""
        return self.prefix + module_path[len(self.package):] if self.owns(module_path) else module_path

    def load_copy(self, module_path: str, copy_name: str) -> ModuleType:
        """Execute `module_path`'s file as a new module `copy_name` (a sibling of the original, so
        its relative imports work) with this generation's imports."""
        found = importlib.util.find_spec(self.name_of(module_path))   # imports the parent packages
        if found is None or not found.origin:
            raise ModuleNotFoundError(f"module {module_path!r} not found", name=module_path)
        loader = (_FreshLoader(copy_name, found.origin, self.builtins) if self.builtins is not None
                  else None)
        copy_spec = importlib.util.spec_from_file_location(
            copy_name, found.origin, loader=loader, submodule_search_locations=found.submodule_search_locations)
        assert copy_spec is not None and copy_spec.loader is not None
        module = importlib.util.module_from_spec(copy_spec)
        sys.modules[copy_name] = module   # dataclasses/pydantic resolve annotations through sys.modules
        try:
            copy_spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(copy_name, None)
            raise
        return module

    def modules(self) -> list[str]:
        """This generation's modules now in `sys.modules` (the package's own, copies included)."""
        return [name for name in list(sys.modules)
                if name == self.prefix or name.startswith(self.prefix + ".")]

    def discard(self) -> None:
        """Forget a reloaded generation (what still runs on it keeps its module objects)."""
        if self.generation == 1:
            return
        with _spaces_lock:
            _spaces.pop(self.prefix, None)
        for name in self.modules():
            sys.modules.pop(name, None)

    def _import(self, name: str, globals: Any = None, locals: Any = None, fromlist: Any = (),
                level: int = 0) -> ModuleType:
        if level == 0 and self.owns(name):
            name = self.name_of(name)
        return _real_import(name, globals, locals, fromlist, level)


class _FreshLoader(importlib.machinery.SourceFileLoader):
    """Runs a module with its generation's `__import__`, compiled from the source as it is now."""

    def __init__(self, fullname: str, path: str, generation_builtins: dict[str, Any]) -> None:
        super().__init__(fullname, path)
        self._builtins = generation_builtins

    def get_code(self, fullname: str) -> Any:
        path = self.get_filename(fullname)
        return compile(self.get_data(path), path, "exec", dont_inherit=True)

    def exec_module(self, module: ModuleType) -> None:
        module.__dict__["__builtins__"] = self._builtins
        super().exec_module(module)


class _GenerationFinder:
    """Finds `lambdas__genN[.x.y]` in the directory the ordinary `lambdas` package comes from."""

    @classmethod
    def find_spec(cls, fullname: str, path: Any = None, target: Any = None) -> Any:
        prefix = fullname.partition(".")[0]
        with _spaces_lock:
            space = _spaces.get(prefix)
        if space is None:
            return None
        if fullname == prefix:
            ordinary = importlib.util.find_spec(space.package)
            if ordinary is None or not ordinary.origin:
                return None
            origin, locations = ordinary.origin, list(ordinary.submodule_search_locations or [])
        else:
            found = importlib.machinery.PathFinder.find_spec(fullname, path)
            if found is None or not found.origin or found.loader is None:
                return found        # not there, or a namespace package (no code to run)
            origin, locations = found.origin, found.submodule_search_locations
        assert space.builtins is not None
        return importlib.util.spec_from_file_location(
            fullname, origin, loader=_FreshLoader(fullname, origin, space.builtins),
            submodule_search_locations=locations)


def _install_finder() -> None:
    if _GenerationFinder not in sys.meta_path:
        sys.meta_path.insert(0, _GenerationFinder)


def package_directory(package: str) -> Path | None:
    """Where the ordinary import of `package` comes from (what a reload re-reads)."""
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        return None
    return Path(next(iter(found.submodule_search_locations))).resolve()
