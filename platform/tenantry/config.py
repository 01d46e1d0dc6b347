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

from lambdas.apikeys import MAX_DAYS as MAX_API_KEY_DAYS
from lambdas.banking.policy import ADMINS_GROUP as POLICY_ADMINS_GROUP
from lambdas.apikeys import MIN_DAYS as MIN_API_KEY_DAYS

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
# Opt-in regions: disabled in every account until someone enables them (AWS console, Account >
# AWS Regions, or `aws account enable-region`); until then every call there fails. Allowed, but
# named as such in the allowed values and warned about by `validate`, `preview` and `pulumi`.
OPT_IN_REGIONS = ("eu-central-2", "eu-south-1", "me-south-1", "af-south-1")
# `sandbox`: demos and tests; the only tier that may enable an API key (a full-access credential).
TIERS = ("sandbox", "basic", "standard", "premium")
SANDBOX_TIER = "sandbox"
# The retention values CloudWatch Logs accepts (PutRetentionPolicy; botocore's `Days` shape).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                      2557, 2922, 3288, 3653)
API_LOG_LEVELS = ("NONE", "ERROR", "ALL")
RESERVED_TAG_KEYS = ("tenant", "tier", "managed-by")
READ_MODEL_SLOTS = ("blue", "green")
USER_DIRECTORIES = ("cognito", "oidc")
MFA_MODES = ("OFF", "OPTIONAL", "ON")     # Cognito's mfa_configuration; OPTIONAL/ON mean TOTP
# The group whose members may act on every account (DESIGN section 3): the policy's own name for
# it (the resolvers, which cannot import, spell it out and are tested against it).
ADMINS_GROUP = POLICY_ADMINS_GROUP
DEV_USER_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"


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


class OidcConfig(BaseModel):
    """The tenant's own OpenID Connect provider (AppSync OPENID_CONNECT mode)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # AppSync fetches `<issuer>/.well-known/openid-configuration`: an https URL, no trailing slash.
    issuer: str = Field(pattern=r"^https://[A-Za-z0-9.-]+(:\d+)?(/[^\s?#]*[^\s?#/])?$")
    client_id: str = Field(min_length=1, max_length=256, pattern=r"^[\x21-\x7e]+$")


class AuthConfig(BaseModel):
    """Who may call the tenant's API (DESIGN section 3). Users are the default mode: Cognito (a
    user pool per tenant) or the tenant's own OIDC provider; services sign with IAM; an API key
    exists only where a sandbox tenant asks for one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    users: Literal[USER_DIRECTORIES] = "cognito"  # type: ignore[valid-type]
    oidc: OidcConfig | None = None
    api_key: bool = False
    mfa: Literal[MFA_MODES] = "OFF"  # type: ignore[valid-type]
    self_sign_up: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> "AuthConfig":
        if (self.users == "oidc") != (self.oidc is not None):
            raise ValueError("oidc (issuer, client_id) is required when users is oidc, and only then")
        if self.users == "oidc" and (self.mfa != "OFF" or self.self_sign_up):
            raise ValueError("mfa and self_sign_up are Cognito settings: the OIDC provider owns them")
        return self


class DevUser(BaseModel):
    """A user `tenantry dev` signs up in the local user pool (never declared on AWS)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=DEV_USER_PATTERN)
    groups: tuple[Literal[ADMINS_GROUP], ...] = ()  # type: ignore[valid-type]


DEFAULT_DEV_USERS = (DevUser(name="alice"), DevUser(name="bob"), DevUser(name="ops", groups=(ADMINS_GROUP,)))


class DevConfig(BaseModel):
    """Settings only `tenantry dev` reads."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    users: tuple[DevUser, ...] = Field(default=DEFAULT_DEV_USERS, min_length=1)

    @field_validator("users")
    @classmethod
    def _unique(cls, users: tuple[DevUser, ...]) -> tuple[DevUser, ...]:
        names = [u.name for u in users]
        if len(set(names)) != len(names):
            raise ValueError(f"dev user names must be unique, got {names}")
        return users


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
    # S3 lifecycle days are positive integers; expiry must come after the transition (below).
    archive_retention_days: int = Field(default=3650, ge=1)
    log_retention_days: Literal[LOG_RETENTION_DAYS] = 30  # type: ignore[valid-type]
    alarm_email: str | None = Field(
        default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="Subscribed to the alarm topic; AWS mails a confirmation link. Only partly managed "
                    "by the provider: AWS refuses to unsubscribe a pending subscription, so destroying an "
                    "unconfirmed one (address changed or removed) only drops it from Pulumi's state and it "
                    "stays on the topic until the topic is deleted.")
    tags: dict[str, str] = Field(default_factory=dict)
    deletion_protection: bool = True
    api_key_expires_days: int = Field(default=365, ge=MIN_API_KEY_DAYS, le=MAX_API_KEY_DAYS)
    # `tenantry keys check` fails when the deployed key has fewer days left than this; below
    # `api_key_expires_days` (a freshly renewed key must pass).
    api_key_renew_days_before: int = Field(default=7, ge=0, le=MAX_API_KEY_DAYS - 1)
    api_log_level: Literal[API_LOG_LEVELS] = "ERROR"  # type: ignore[valid-type]
    # What one GraphQL request may cost (AppSync's queryDepthLimit / resolverCountLimit). Our
    # deepest query is 3 levels; 16 still admits GraphQL IDEs' introspection queries.
    api_query_depth_limit: int = Field(default=16, ge=1, le=75)
    api_resolver_count_limit: int = Field(default=100, ge=1, le=10000)
    read_models: ReadModelSlots = Field(default_factory=ReadModelSlots)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    dev: DevConfig = Field(default_factory=DevConfig)
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
        if self.auth.api_key and self.tier != SANDBOX_TIER:
            raise ValueError(f"auth.api_key may be true only for tier: {SANDBOX_TIER} "
                             "(an API key is a full-access credential, for demos and tests)")
        if self.api_key_renew_days_before >= self.api_key_expires_days:
            raise ValueError(f"api_key_renew_days_before must be below api_key_expires_days "
                             f"({self.api_key_expires_days})")
        return self

    @property
    def warnings(self) -> tuple[str, ...]:
        """What `validate`, `preview` and `pulumi` say about a valid file: values AWS accepts only
        after a step outside this program, and settings that are risky on purpose."""
        found = []
        if self.region in OPT_IN_REGIONS:
            found.append(f"region: {self.region} is an opt-in region: enable it for the account first "
                         f"(AWS console, Account > AWS Regions), or every call there fails")
        if self.auth.api_key:
            found.append("auth.api_key is on: anyone holding the key may call every field as a "
                         "full-access service (sandbox only; never ship it in a frontend)")
        return tuple(found)


# Fields a tenant file may no longer set, and why: a clear error, never a silently ignored setting.
REMOVED_FIELDS = {
    "archive_glacier_transition_days": (
        "removed: it never applied. S3 lifecycle transitions skip objects under 128 KB, and each archive "
        "object is one batch of at most 100 events (about 15 KB gzip); delete the line "
        "(archive_retention_days still expires the archive)"),
}


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


# Fields whose allowed values the annotations cannot say (top-level bools have no allowed-values
# hint on purpose; nested ones say "true, false").
_ALLOWED_SPECIAL = {
    "name": TENANT_NAME_RULE,
    "region": ", ".join(f"{r} (opt-in: enable it first)" if r in OPT_IN_REGIONS else r for r in AWS_REGIONS),
}


def _choices(annotation: object) -> str | None:
    """The values of a Literal or Enum annotation, in declaration order."""
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return ", ".join(m.value for m in annotation)
    if get_origin(annotation) is Literal:
        return ", ".join(map(str, get_args(annotation)))
    return None


def _nested_model(annotation: object) -> type[BaseModel] | None:
    """The model a field holds: itself, optional, or as the items of a tuple."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
        if get_origin(candidate) is tuple and get_args(candidate):
            return _nested_model(get_args(candidate)[0])
    return None


def _field_info(field: str) -> tuple[type[BaseModel], str]:
    """`auth.oidc.issuer` or `dev.users.0.name` -> (the model holding it, its name there)."""
    model: type[BaseModel] = TenantConfig
    parts = [part for part in field.split(".") if not part.isdigit()]
    for part in parts[:-1]:
        info = model.model_fields.get(part)
        inner = _nested_model(info.annotation) if info else None
        if inner is None:
            break
        model = inner
    return model, parts[-1]


def _allowed_values(field: str) -> str | None:
    """What a field accepts, for error messages (derived from the model, never duplicated)."""
    if field in _ALLOWED_SPECIAL:
        return _ALLOWED_SPECIAL[field]
    model, name = _field_info(field)
    info = model.model_fields.get(name)
    if info is None:
        return ", ".join(sorted(model.model_fields))
    inner = _nested_model(info.annotation)
    if inner is not None and get_origin(info.annotation) is not tuple:
        parts = [f"{n} ({_allowed_values(f'{field}.{n}') or 'see README'})" for n in inner.model_fields]
        return f"a mapping of {', '.join(parts)}"
    patterns = [m.pattern for m in info.metadata if getattr(m, "pattern", None)]
    bounds = [f"{kind} {getattr(m, attr)}" for m in info.metadata
              for kind, attr in ((">=", "ge"), ("<=", "le")) if getattr(m, attr, None) is not None]
    if info.annotation is bool and "." in field:
        return "true, false"
    return _choices(info.annotation) or ", ".join(bounds) or (f"matching {patterns[0]}" if patterns else None)


def _problems(exc: ValidationError) -> tuple[Problem, ...]:
    problems = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"] if not str(part).startswith(("function-", "literal["))]
        if err["type"] == "extra_forbidden":
            scope = ".".join([*loc[:-1], "(unknown)"])
            problems.append(Problem(".".join(loc), "unknown field", _allowed_values(scope)))
            continue
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] in ("literal_error", "enum"):
            message = f"invalid value {err['input']!r}"
        if not loc:  # cross-field rule: its message starts with the field it blames
            field = message.split(" ", 1)[0]
            loc = [field] if field.split(".")[0] in TenantConfig.model_fields else []
        field = ".".join(loc)
        problems.append(Problem(field or "(file)", message, _allowed_values(field) if loc else None))
    return tuple(problems)


def parse_tenant(data: object, file: Path) -> TenantConfig:
    if not isinstance(data, dict):
        raise TenantConfigError(file, (Problem("(file)", "must be a YAML mapping of field: value"),))
    removed = tuple(Problem(field, why) for field, why in REMOVED_FIELDS.items() if field in data)
    try:
        config = TenantConfig.model_validate({k: v for k, v in data.items() if k not in REMOVED_FIELDS})
    except ValidationError as exc:
        raise TenantConfigError(file, removed + _problems(exc)) from exc
    if removed:
        raise TenantConfigError(file, removed)
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
