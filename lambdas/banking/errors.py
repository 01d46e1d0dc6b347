"""Domain errors. `error_type` is the GraphQL errorType of DESIGN section 3 each one maps to."""

from __future__ import annotations


class DomainError(Exception):
    """str(exc) is the message; the fields each subclass sets go to the client as error info."""

    error_type = "DomainError"


class AccountNotFoundError(DomainError):
    error_type = "AccountNotFound"

    def __init__(self, account_id: str) -> None:
        super().__init__(f"account {account_id} does not exist")
        self.account_id = account_id


class AccountAlreadyExistsError(DomainError):
    error_type = "AccountAlreadyExists"

    def __init__(self, account_id: str) -> None:
        super().__init__(f"account {account_id} already exists")
        self.account_id = account_id


class AccountClosedError(DomainError):
    error_type = "AccountClosed"

    def __init__(self, account_id: str) -> None:
        super().__init__(f"account {account_id} is closed")
        self.account_id = account_id


class InsufficientFundsError(DomainError):
    error_type = "InsufficientFunds"

    def __init__(self, account_id: str, balance: int, amount: int) -> None:
        super().__init__(f"account {account_id} holds {balance}, cannot take {amount}")
        self.account_id, self.balance, self.amount = account_id, balance, amount


class CurrencyMismatchError(DomainError):
    error_type = "CurrencyMismatch"

    def __init__(self, from_currency: str, to_currency: str) -> None:
        super().__init__(f"cannot move {from_currency} into a {to_currency} account")
        self.from_currency, self.to_currency = from_currency, to_currency


class BalanceLimitExceededError(DomainError):
    error_type = "BalanceLimitExceeded"

    def __init__(self, account_id: str, balance: int, amount: int, limit: int) -> None:
        super().__init__(f"account {account_id} would hold {balance + amount}, over the limit {limit}")
        self.account_id, self.balance, self.amount, self.limit = account_id, balance, amount, limit


class NonZeroBalanceError(DomainError):
    # The contract has no dedicated errorType for this rule; it is a validation of the request.
    error_type = "ValidationError"

    def __init__(self, account_id: str, balance: int) -> None:
        super().__init__(f"account {account_id} holds {balance}; only an empty account can be closed")
        self.account_id, self.balance = account_id, balance


class ConcurrencyConflictError(DomainError):
    error_type = "ConcurrencyConflict"

    def __init__(self, account_id: str, expected_version: int | None, actual_version: int | None) -> None:
        if expected_version is None:
            message = f"account {account_id}: too many concurrent writers, retries exhausted"
        else:
            message = f"account {account_id} is at version {actual_version}, not {expected_version}"
        super().__init__(message)
        self.account_id, self.expected_version, self.actual_version = account_id, expected_version, actual_version


class IdempotencyConflictError(DomainError):
    error_type = "IdempotencyConflict"

    def __init__(self, command_id: str) -> None:
        super().__init__(f"commandId {command_id} was already used with a different payload")
        self.command_id = command_id


class UnauthorizedError(DomainError):
    """The caller may not do this to this account (DESIGN section 3, "Who may call what"). The
    owner is never named: a refused caller learns nothing it could not already ask for."""

    error_type = "Unauthorized"

    def __init__(self, action: str, account_id: str | None = None) -> None:
        target = f" account {account_id}" if account_id else ""
        super().__init__(f"not authorized to {action}{target}")
        self.action, self.account_id = action, account_id


class OwnerRequiredError(DomainError):
    """openAccount without ownerId from a caller that is not a user: there is no `sub` to own it."""

    error_type = "ValidationError"

    def __init__(self) -> None:
        super().__init__("ownerId: required when the caller is not a user (a service or an API key)")
        self.fields = ["ownerId"]
