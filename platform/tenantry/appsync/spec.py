"""The single declarative description of the AppSync API: data sources and resolvers.

The Pulumi `Api` component creates exactly these resources and the local platform executes exactly
these resolvers, so what runs offline is what is deployed (DESIGN section 5).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from pathlib import Path

RESOLVER_DIR = Path(__file__).resolve().parents[3] / "resolvers"
SCHEMA_FILE = "schema.graphql"
RUNTIME_NAME = "APPSYNC_JS"
RUNTIME_VERSION = "1.0.0"


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
        ResolverSpec("Subscription", "onAccountUpdated", NONE, "Subscription.onAccountUpdated.js"),
    ),
)
