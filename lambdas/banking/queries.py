"""Queries the command Lambda answers (the others are resolvers on the read models). Validated like
commands, so a bad argument is a ValidationError naming the field, never a storage error."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lambdas.eventstore.envelope import normalize_instant

from . import rules
from .commands import Id


class AccountAt(BaseModel):
    """State of an account as of a version, or as of an instant (at most one of the two)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Id
    version: Annotated[int, Field(ge=1, strict=True)] | None = None
    at: str | None = None      # an AWSDateTime, any offset; normalized to the stored UTC layout

    @field_validator("at")
    @classmethod
    def _instant(cls, value: str | None) -> str | None:
        if value is None:
            return None
        instant = normalize_instant(value)   # fixed width: instants compare as strings
        if instant < rules.EARLIEST_INSTANT:
            raise ValueError(f"must not be earlier than {rules.EARLIEST_INSTANT} (nothing is recorded before it)")
        return instant

    @model_validator(mode="after")
    def _one_of(self) -> "AccountAt":
        if self.version is not None and self.at is not None:
            raise ValueError("give version or at, not both")
        return self
