"""AppSync direct-Lambda data source for every command mutation and for `accountAt`."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import AppSyncResolver
from aws_lambda_powertools.logging import correlation_paths
from pydantic import ValidationError

from lambdas.banking.commands import CloseAccount, Deposit, OpenAccount, Transfer, Withdraw
from lambdas.banking.errors import DomainError
from lambdas.banking.queries import AccountAt
from lambdas.banking.service import BankingService
from lambdas.eventstore.dynamodb import DynamoDBEventStore, S3SnapshotSpill
from lambdas.eventstore.envelope import CommandContext
from lambdas.handlers import telemetry
from lambdas.handlers.graphql_errors import (VALIDATION_ERROR, from_domain_error, from_validation_error,
                                           internal_failure)
from lambdas.handlers.settings import Settings

logger = Logger(service="commands")
tracer = Tracer(service="commands")
metrics = telemetry.handler_metrics("commands")
app = AppSyncResolver()


@lru_cache(maxsize=1)
def settings() -> Settings:
    """Read once per container: a function's environment does not change while it is warm."""
    return Settings.from_env()


@lru_cache(maxsize=1)
def service() -> BankingService:
    """One store and service per container: created on the first command, reused after."""
    s = settings()
    spill = S3SnapshotSpill(s.archive_bucket) if s.archive_bucket else None
    store = DynamoDBEventStore(s.events_table, tenant_id=s.tenant_id, spill=spill)
    return BankingService(store, s.tenant_id, snapshot_interval=s.snapshot_interval)


def command_context() -> CommandContext:
    identity = app.current_event.get("identity") or {}
    actor = identity.get("userArn") or identity.get("username") or "api-key"
    return CommandContext(actor=actor, correlation_id=app.current_event.request_headers.get("x-amzn-requestid"))


@app.resolver(type_name="Mutation", field_name="openAccount")
def open_account(input: dict) -> dict:  # noqa: A002 - the GraphQL argument is named `input`
    return service().open_account(OpenAccount.model_validate(input), command_context()).to_graphql()


@app.resolver(type_name="Mutation", field_name="deposit")
def deposit(input: dict) -> dict:  # noqa: A002
    return service().deposit(Deposit.model_validate(input), command_context()).to_graphql()


@app.resolver(type_name="Mutation", field_name="withdraw")
def withdraw(input: dict) -> dict:  # noqa: A002
    return service().withdraw(Withdraw.model_validate(input), command_context()).to_graphql()


@app.resolver(type_name="Mutation", field_name="transfer")
def transfer(input: dict) -> dict:  # noqa: A002
    return service().transfer(Transfer.model_validate(input), command_context()).to_graphql()


@app.resolver(type_name="Mutation", field_name="closeAccount")
def close_account(input: dict) -> dict:  # noqa: A002
    return service().close_account(CloseAccount.model_validate(input), command_context()).to_graphql()


@app.resolver(type_name="Query", field_name="accountAt")
def account_at(id: str, version: int | None = None, at: str | None = None) -> dict | None:  # noqa: A002
    query = AccountAt.model_validate({"id": id, "version": version, "at": at})
    view = service().account_at(query.id, version=query.version, at=query.at)
    return None if view is None else view.to_graphql()


@app.exception_handler(DomainError)
def domain_error(exc: DomainError) -> dict:
    logger.info("command rejected", extra={"error_type": exc.error_type})
    telemetry.count_rejection(metrics, settings().tenant_id, exc.error_type)
    return from_domain_error(exc)


@app.exception_handler(ValidationError)
def validation_error(exc: ValidationError) -> dict:
    logger.info("command invalid", extra={"errors": exc.error_count()})
    telemetry.count_rejection(metrics, settings().tenant_id, VALIDATION_ERROR)
    return from_validation_error(exc)


@app.exception_handler(Exception)
def unexpected_error(exc: Exception) -> dict:
    """Anything the handlers above do not translate is our fault, not the caller's (a corrupt
    history, a bug, an AWS failure). Powertools picks the most specific handler by the exception's
    MRO, so this one only sees what the typed ones do not. The client gets an error id; the log
    line under that id has the traceback (and, from the logger's keys, the tenant and request)."""
    error_id = getattr(app.lambda_context, "aws_request_id", None) or str(uuid.uuid4())
    logger.exception("internal failure", extra={"error_id": error_id}, exc_info=exc)
    telemetry.count(metrics, telemetry.INTERNAL_FAILURES)
    return internal_failure(error_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.APPSYNC_RESOLVER)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: Any) -> Any:
    logger.append_keys(tenant_id=settings().tenant_id, field=event.get("info", {}).get("fieldName"))
    telemetry.for_tenant(metrics, settings().tenant_id)
    telemetry.count(metrics, telemetry.COMMANDS)
    return app.resolve(event, context)
