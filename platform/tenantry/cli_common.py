"""Helpers shared by CLI subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path

from .config import find_project_root


def project_root(args: argparse.Namespace) -> Path:
    root = getattr(args, "root", None)
    return Path(root).resolve() if root else find_project_root()
