"""AppSync direct-Lambda data source for every command mutation and for `accountAt`."""

from __future__ import annotations

import uuid
from functools import lru_cache
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import AppSyncResolver
from aws_lambda_powertools.logging import correlation_paths
from pydantic import ValidationError

from lambdas.banking.commands import CloseAccount, Deposit, OpenAccount, Transfer, Withdraw
from lambdas.banking.errors import DomainError
from lambdas.banking.policy import Caller, actor
from lambdas.banking.queries import AccountAt
from lambdas.banking.service import BankingService
from lambdas.eventstore.dynamodb import DynamoDBEventStore, S3SnapshotSpill
from lambdas.eventstore.envelope import CommandContext
from lambdas.handlers import telemetry
from lambdas.handlers.graphql_errors import (VALIDATION_ERROR, from_domain_error, from_validation_error,
                                           internal_failure)
from lambdas.handlers.identity import caller_from_identity
from lambdas.handlers.settings import Settings
from lambdas.handlers.tracing import LazyTracer

logger = Logger(service="commands")
tracer = LazyTracer(service="commands")   # the X-Ray SDK is imported at the first invocation
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


def caller() -> Caller:
    return caller_from_identity(app.current_event.get("identity"))


def command_context(who: Caller) -> CommandContext:
    return CommandContext(actor=actor(who), correlation_id=app.current_event.request_headers.get("x-amzn-requestid"))


def run(method: Callable[..., Any], command: Any) -> dict:
    """One `BankingService` method for the caller AppSync authenticated, who is also the actor."""
    who = caller()
    return method(service(), command, command_context(who), who).to_graphql()


@app.resolver(type_name="Mutation", field_name="openAccount")
def open_account(input: dict) -> dict:  # noqa: A002 - the GraphQL argument is named `input`
    return run(BankingService.open_account, OpenAccount.model_validate(input))


@app.resolver(type_name="Mutation", field_name="deposit")
def deposit(input: dict) -> dict:  # noqa: A002
    return run(BankingService.deposit, Deposit.model_validate(input))


@app.resolver(type_name="Mutation", field_name="withdraw")
def withdraw(input: dict) -> dict:  # noqa: A002
    return run(BankingService.withdraw, Withdraw.model_validate(input))


@app.resolver(type_name="Mutation", field_name="transfer")
def transfer(input: dict) -> dict:  # noqa: A002
    return run(BankingService.transfer, Transfer.model_validate(input))


@app.resolver(type_name="Mutation", field_name="closeAccount")
def close_account(input: dict) -> dict:  # noqa: A002
    return run(BankingService.close_account, CloseAccount.model_validate(input))


@app.resolver(type_name="Query", field_name="accountAt")
def account_at(id: str, version: int | None = None, at: str | None = None) -> dict | None:  # noqa: A002
    query = AccountAt.model_validate({"id": id, "version": version, "at": at})
    view = service().account_at(query.id, version=query.version, at=query.at, caller=caller())
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


def _logged_caller(identity: dict | None) -> str:
    """Who called, for every log line (common brief): the actor the envelope would get."""
    try:
        return actor(caller_from_identity(identity))
    except DomainError:
        return "unrecognised"


@logger.inject_lambda_context(correlation_id_path=correlation_paths.APPSYNC_RESOLVER)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: Any) -> Any:
    logger.append_keys(tenant_id=settings().tenant_id, field=event.get("info", {}).get("fieldName"),
                       caller=_logged_caller(event.get("identity")))
    telemetry.for_tenant(metrics, settings().tenant_id)
    telemetry.count(metrics, telemetry.COMMANDS)
    return app.resolve(event, context)
