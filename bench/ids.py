"""The ids a workload runs with: today's, the shortest and the longest the API allows.

Ids (account, command, transfer) match `^[A-Za-z0-9_-]{1,64}$` and tenant names
`^[a-z][a-z0-9-]{1,30}$` (2..31 characters); DynamoDB bills every byte of them in every item that
carries them, so the capacity targets are measured at both ends. "Shortest" ids are as short as
uniqueness within the run allows (1 character for the first 64, then 2, ...).
"""

from __future__ import annotations

import itertools
import string
import uuid
from dataclasses import dataclass

ALPHABET = string.ascii_letters + string.digits + "_-"
MAX_ID_LENGTH = 64
MIN_TENANT, MAX_TENANT = "ab", "t" + "x" * 30


@dataclass(frozen=True)
class IdProfile:
    name: str
    tenant: str
    length: int | None          # None: today's ids; 0: shortest unique; n: exactly n characters

    def ids(self) -> IdSource:
        return IdSource(self)


DEFAULT = IdProfile("default", "bench", None)
SHORTEST = IdProfile("shortest", MIN_TENANT, 0)
LONGEST = IdProfile("longest", MAX_TENANT, MAX_ID_LENGTH)
PROFILES = (SHORTEST, DEFAULT, LONGEST)
NAMED = ("history", "probe")


class IdSource:
    """Account ids by index and fresh command ids, in one profile's shape."""

    def __init__(self, profile: IdProfile) -> None:
        self.profile = profile
        self._commands = itertools.count()

    def account(self, name: str | int) -> str:
        if self.profile.length is None:
            return f"acc-{name:05d}" if isinstance(name, int) else name
        # The named accounts (history and probe) take the shortest ids: they are the measured ones.
        index = name + len(NAMED) if isinstance(name, int) else NAMED.index(name)
        return self._shaped("a", index)

    def command(self) -> str:
        if self.profile.length is None:
            return str(uuid.uuid4())
        return self._shaped("c", next(self._commands))

    def _shaped(self, kind: str, index: int) -> str:
        text = _base64(index)
        if self.profile.length:
            text = (kind + text).rjust(self.profile.length, "0")
        return text


def _base64(index: int) -> str:
    digits = ""
    while True:
        index, digit = divmod(index, len(ALPHABET))
        digits = ALPHABET[digit] + digits
        if index == 0:
            return digits
