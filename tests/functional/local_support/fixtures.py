"""Fixtures for the local-platform tests: one emulator per test, state wiped afterwards."""

from __future__ import annotations

import pytest

from tenantry.local.emulator import Emulator
from tests.functional.local_support import sink
from tests.functional.local_support.declared import REGION


@pytest.fixture
def emulator():
    with Emulator(region=REGION) as running:
        yield running
        running.reset()
    sink.reset()
