"""What the Pulumi program declares for a tenant, as plain data.

`tenantry preview` prints it and `tenantry dev` provisions the local platform from it, so there is
no second, hand-written description of the infrastructure (DESIGN section 5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DeclaredResource:
    type: str                      # Pulumi type token, e.g. "aws:dynamodb/table:Table"
    name: str                      # logical name
    inputs: dict[str, Any]         # resolved inputs, camelCase as the provider sees them
    outputs: dict[str, Any] = field(default_factory=dict)  # mock outputs (arn, id, name, ...)
    parent: str | None = None      # parent URN
    urn: str = ""
