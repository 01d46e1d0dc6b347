"""Tenant configuration: `tenants/<name>.yaml`, validated by a frozen pydantic model.

A tenant file is the single description of a tenant. `__main__.py` (one stack per tenant) and
`tenantry validate` both load it through `load_tenant`, which raises `TenantConfigError` naming the
file, every bad field and its allowed values, before anything is declared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

TENANT_NAME_PATTERN = r"^[a-z][a-z0-9-]{1,30}$"
TENANT_NAME_RULE = "lowercase letter, then 1-30 of a-z, 0-9 or '-' (it becomes part of every AWS name)"
TENANTS_DIR = "tenants"

# Regions with the AppSync real-time endpoint and the Powertools layer (kept explicit on purpose:
# a typo must fail `tenantry validate`, not `pulumi up` twenty minutes in).
AWS_REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
    "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ap-northeast-2",
    "ap-northeast-3", "sa-east-1", "me-south-1", "af-south-1",
)
TIERS = ("basic", "standard", "premium")
API_LOG_LEVELS = ("NONE", "ERROR", "ALL")
RESERVED_TAG_KEYS = ("tenant", "tier", "managed-by")
READ_MODEL_SLOTS = ("blue", "green")


class StreamMode(str, Enum):
    ON_DEMAND = "ON_DEMAND"
    PROVISIONED = "PROVISIONED"


class ReadModelSlots(BaseModel):
    """Blue/green read models: which slot serves (`active`), and whether the other slot's tables
    are declared too (`standby`), as the target of `tenantry replay`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    active: Literal[READ_MODEL_SLOTS] = "blue"  # type: ignore[valid-type]
    standby: bool = False

    @property
    def standby_slot(self) -> str:
        return other_slot(self.active)

    @property
    def declared(self) -> tuple[str, ...]:
        """The slots whose tables exist: the active one first."""
        return (self.active, self.standby_slot) if self.standby else (self.active,)


def other_slot(slot: str) -> str:
    return READ_MODEL_SLOTS[1 - READ_MODEL_SLOTS.index(slot)]


class TenantConfig(BaseModel):
    """One tenant. Field names are the YAML keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=TENANT_NAME_PATTERN)
    region: Literal[AWS_REGIONS]  # type: ignore[valid-type]
    tier: Literal[TIERS] = "standard"  # type: ignore[valid-type]
    stream_mode: StreamMode = StreamMode.ON_DEMAND
    shard_count: int | None = Field(default=None, ge=1, le=500)
    stream_retention_hours: int = Field(default=24, ge=24, le=8760)
    projector_batch_size: int = Field(default=100, ge=1, le=10000)
    projector_parallelization_factor: int = Field(default=1, ge=1, le=10)
    snapshot_interval: int = Field(default=10, ge=1, le=1000)
    archive_retention_days: int = Field(default=3650, ge=1)
    archive_glacier_transition_days: int = Field(default=90, ge=1)
    alarm_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    tags: dict[str, str] = Field(default_factory=dict)
    deletion_protection: bool = True
    api_key_expires_days: int = Field(default=365, ge=1, le=365)
    api_log_level: Literal[API_LOG_LEVELS] = "ERROR"  # type: ignore[valid-type]
    # What one GraphQL request may cost (AppSync's queryDepthLimit / resolverCountLimit). Our
    # deepest query is 3 levels; 16 still admits GraphQL IDEs' introspection queries.
    api_query_depth_limit: int = Field(default=16, ge=1, le=75)
    api_resolver_count_limit: int = Field(default=100, ge=1, le=10000)
    read_models: ReadModelSlots = Field(default_factory=ReadModelSlots)
    # Lambda SnapStart for the command function (the one a client waits on): its init is restored
    # from a snapshot of a published version; AppSync then invokes the `live` alias.
    command_snapstart: bool = False
    powertools_layer_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+$"
    )

    @field_validator("tags")
    @classmethod
    def _no_reserved_tags(cls, tags: dict[str, str]) -> dict[str, str]:
        clash = sorted(set(tags) & set(RESERVED_TAG_KEYS))
        if clash:
            raise ValueError(f"tag keys {clash} are set by Tenantry; reserved: {list(RESERVED_TAG_KEYS)}")
        return tags

    @model_validator(mode="after")
    def _consistent(self) -> "TenantConfig":
        if self.stream_mode is StreamMode.PROVISIONED and self.shard_count is None:
            raise ValueError("shard_count is required when stream_mode is PROVISIONED")
        if self.stream_mode is StreamMode.ON_DEMAND and self.shard_count is not None:
            raise ValueError("shard_count is only allowed when stream_mode is PROVISIONED")
        if self.archive_glacier_transition_days >= self.archive_retention_days:
            raise ValueError("archive_glacier_transition_days must be below archive_retention_days")
        return self


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    allowed: str | None = None

    def render(self) -> str:
        suffix = f" (allowed: {self.allowed})" if self.allowed else ""
        return f"{self.field}: {self.message}{suffix}"


class TenantConfigError(Exception):
    """A tenant file that cannot be used. Carries the file and every problem found in it."""

    def __init__(self, file: Path, problems: tuple[Problem, ...]) -> None:
        self.file = file
        self.problems = problems
        lines = "\n".join(f"  - {p.render()}" for p in problems)
        super().__init__(f"{file}: invalid tenant configuration\n{lines}")


# Fields whose allowed values the annotations cannot say: a pattern, and a bool spelled as YAML
# (top-level bools have no allowed-values hint on purpose).
_ALLOWED_SPECIAL = {"name": TENANT_NAME_RULE, "read_models.standby": "true, false"}


def _choices(annotation: object) -> str | None:
    """The values of a Literal or Enum annotation, in declaration order."""
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return ", ".join(m.value for m in annotation)
    if get_origin(annotation) is Literal:
        return ", ".join(map(str, get_args(annotation)))
    return None


def _allowed_values(field: str) -> str | None:
    """What a field accepts, for error messages (derived from the model, never duplicated)."""
    if field in _ALLOWED_SPECIAL:
        return _ALLOWED_SPECIAL[field]
    model, name = (ReadModelSlots, field.split(".", 1)[1]) if field.startswith("read_models.") else (TenantConfig, field)
    info = model.model_fields.get(name)
    if info is None:
        return ", ".join(sorted(model.model_fields))
    if info.annotation is ReadModelSlots:
        parts = [f"{n} ({_allowed_values(f'{field}.{n}')})" for n in ReadModelSlots.model_fields]
        return f"a mapping of {' and '.join(parts)}"
    bounds = [f"{kind} {getattr(m, attr)}" for m in info.metadata
              for kind, attr in ((">=", "ge"), ("<=", "le")) if getattr(m, attr, None) is not None]
    return _choices(info.annotation) or ", ".join(bounds) or None


def _problems(exc: ValidationError) -> tuple[Problem, ...]:
    problems = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        field = loc[0] if loc else "(file)"
        if err["type"] == "extra_forbidden":
            scope = f"{loc[0]}.(unknown)" if len(loc) > 1 else "(unknown)"
            problems.append(Problem(".".join(loc), "unknown field", _allowed_values(scope)))
            continue
        if len(loc) > 1 and loc[0] == "read_models":
            field = ".".join(loc[:2])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] in ("literal_error", "enum"):
            message = f"invalid value {err['input']!r}"
        if not loc:  # cross-field rule: its message starts with the field it blames
            field = message.split(" ", 1)[0]
            loc = [field] if field in TenantConfig.model_fields else []
        problems.append(Problem(".".join(loc) or "(file)", message, _allowed_values(field) if loc else None))
    return tuple(problems)


def parse_tenant(data: object, file: Path) -> TenantConfig:
    if not isinstance(data, dict):
        raise TenantConfigError(file, (Problem("(file)", "must be a YAML mapping of field: value"),))
    try:
        config = TenantConfig.model_validate(data)
    except ValidationError as exc:
        raise TenantConfigError(file, _problems(exc)) from exc
    if config.name != file.stem:
        raise TenantConfigError(file, (Problem("name", f"must equal the file name '{file.stem}'"),))
    return config


def load_tenant(file: Path) -> TenantConfig:
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TenantConfigError(file, (Problem("(file)", "no such tenant file"),)) from exc
    except yaml.YAMLError as exc:
        raise TenantConfigError(file, (Problem("(file)", f"not valid YAML: {exc}"),)) from exc
    return parse_tenant(data, file)


def tenant_file(root: Path, name: str) -> Path:
    return root / TENANTS_DIR / f"{name}.yaml"


def tenant_names(root: Path) -> list[str]:
    return sorted(p.stem for p in (root / TENANTS_DIR).glob("*.yaml"))


def load_tenant_by_name(root: Path, name: str) -> TenantConfig:
    if not re.fullmatch(TENANT_NAME_PATTERN, name):
        raise TenantConfigError(tenant_file(root, name), (Problem("name", "invalid tenant name", TENANT_NAME_RULE),))
    return load_tenant(tenant_file(root, name))


def validate_all(root: Path) -> dict[str, TenantConfig | TenantConfigError]:
    """Every tenant file, each either loaded or with its problems (validation never stops early)."""
    results: dict[str, TenantConfig | TenantConfigError] = {}
    for name in tenant_names(root):
        try:
            results[name] = load_tenant(tenant_file(root, name))
        except TenantConfigError as exc:
            results[name] = exc
    return results


def find_project_root(start: Path | None = None) -> Path:
    """The nearest directory holding Pulumi.yaml (the repo root), else the start directory."""
    start = (start or Path.cwd()).resolve()
    for candidate in (start, *start.parents):
        if (candidate / "Pulumi.yaml").is_file():
            return candidate
    return start
