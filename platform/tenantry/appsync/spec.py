"""The single declarative description of the AppSync API: data sources and resolvers.

The Pulumi `Api` component creates exactly these resources and the local platform executes exactly
these resolvers, so what runs offline is what is deployed (DESIGN section 5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from pathlib import Path

RESOLVER_DIR = Path(__file__).resolve().parents[3] / "resolvers"
SCHEMA_FILE = "schema.graphql"
RUNTIME_NAME = "APPSYNC_JS"
RUNTIME_VERSION = "1.0.0"


# AppSync auth mode -> the schema directive that admits it on a field or type.
API_KEY = "API_KEY"
AWS_IAM = "AWS_IAM"
USER_POOLS = "AMAZON_COGNITO_USER_POOLS"
OIDC = "OPENID_CONNECT"
AUTH_DIRECTIVES = {
    API_KEY: "aws_api_key", AWS_IAM: "aws_iam", OIDC: "aws_oidc", USER_POOLS: "aws_cognito_user_pools",
    "AWS_LAMBDA": "aws_lambda",
}
# The schema file writes the users' mode as the user pool; `schema_for` rewrites it per tenant.
_USERS = re.compile(r"@aws_cognito_user_pools\b(?!\s*\()")


def schema_for(sdl: str, default_mode: str, api_key: bool) -> str:
    """The schema file as one tenant's API declares it (Pulumi and the local platform alike).

    Every field and type users may call says `@aws_cognito_user_pools` in the file. AppSync admits a
    mode on an annotated field only if it is listed, the default mode included, so: for an OIDC
    tenant that directive becomes `@aws_oidc`; where the tenant enabled an API key (a full-access
    service credential, sandbox tier only) `@aws_api_key` joins it. A field only services may call
    (`publishAccountUpdate`, `@aws_iam` alone) never admits the key. `default_mode` API_KEY is the
    API as it was before users (an API key in place of the user pool)."""
    if default_mode not in (USER_POOLS, OIDC, API_KEY):
        raise ValueError(f"no schema for default auth mode {default_mode!r}")
    users = "@" + AUTH_DIRECTIVES[default_mode]
    if api_key and default_mode != API_KEY:
        users += " @" + AUTH_DIRECTIVES[API_KEY]
    return _USERS.sub(users, sdl)


class DataSourceKind(str, Enum):
    DYNAMODB = "AMAZON_DYNAMODB"
    LAMBDA = "AWS_LAMBDA"
    NONE = "NONE"


class Target(str, Enum):
    """What a data source points at; the component and the local platform bind it to a resource."""

    ACCOUNTS_TABLE = "accounts_table"
    LEDGER_TABLE = "ledger_table"
    COMMAND_FUNCTION = "command_function"
    NOTHING = "nothing"


@dataclass(frozen=True)
class DataSourceSpec:
    name: str              # AppSync data source names allow [_A-Za-z][_0-9A-Za-z]* only
    kind: DataSourceKind
    target: Target
    actions: tuple[str, ...] = ()   # what its service role may do on the target: only what resolvers use


@dataclass(frozen=True)
class ResolverSpec:
    type_name: str
    field_name: str
    data_source: str
    code_file: str         # relative to RESOLVER_DIR


@dataclass(frozen=True)
class ApiSpec:
    data_sources: tuple[DataSourceSpec, ...]
    resolvers: tuple[ResolverSpec, ...]
    schema_file: str = SCHEMA_FILE

    # Looked up on every field call: indexed once (a cached_property does not touch the fields).
    @cached_property
    def _data_sources_by_name(self) -> dict[str, DataSourceSpec]:
        return {ds.name: ds for ds in self.data_sources}

    @cached_property
    def _resolvers_by_field(self) -> dict[tuple[str, str], ResolverSpec]:
        return {(r.type_name, r.field_name): r for r in self.resolvers}

    def schema(self, default_mode: str, api_key: bool) -> str:
        """The SDL one tenant's API is created with (`schema_for` over the schema file)."""
        return schema_for((RESOLVER_DIR / self.schema_file).read_text(encoding="utf-8"), default_mode, api_key)

    @property
    def code_files(self) -> list[str]:
        return [r.code_file for r in self.resolvers]

    def data_source(self, name: str) -> DataSourceSpec:
        return self._data_sources_by_name[name]

    def resolver(self, type_name: str, field_name: str) -> ResolverSpec | None:
        return self._resolvers_by_field.get((type_name, field_name))


ACCOUNTS = "accounts"
LEDGER = "ledger"
COMMANDS = "commands"
NONE = "none"

_LAMBDA_FIELDS = (
    ("Query", "accountAt"),
    ("Mutation", "openAccount"),
    ("Mutation", "deposit"),
    ("Mutation", "withdraw"),
    ("Mutation", "transfer"),
    ("Mutation", "closeAccount"),
)

API_SPEC = ApiSpec(
    data_sources=(
        DataSourceSpec(ACCOUNTS, DataSourceKind.DYNAMODB, Target.ACCOUNTS_TABLE,
                       ("dynamodb:GetItem", "dynamodb:Query")),
        DataSourceSpec(LEDGER, DataSourceKind.DYNAMODB, Target.LEDGER_TABLE, ("dynamodb:Query",)),
        DataSourceSpec(COMMANDS, DataSourceKind.LAMBDA, Target.COMMAND_FUNCTION, ("lambda:InvokeFunction",)),
        DataSourceSpec(NONE, DataSourceKind.NONE, Target.NOTHING),
    ),
    resolvers=(
        ResolverSpec("Query", "account", ACCOUNTS, "Query.account.js"),
        ResolverSpec("Query", "accounts", ACCOUNTS, "Query.accounts.js"),
        ResolverSpec("Query", "ledger", LEDGER, "Query.ledger.js"),
        *(ResolverSpec(t, f, COMMANDS, "lambda.js") for t, f in _LAMBDA_FIELDS),
        ResolverSpec("Mutation", "publishAccountUpdate", NONE, "Mutation.publishAccountUpdate.js"),
        # Reads the account when a client subscribes, to refuse another user's account at once.
        ResolverSpec("Subscription", "onAccountUpdated", ACCOUNTS, "Subscription.onAccountUpdated.js"),
        ResolverSpec("Subscription", "onMyAccountsUpdated", NONE, "Subscription.onMyAccountsUpdated.js"),
    ),
)
