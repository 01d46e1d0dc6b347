"""Commands: what a caller asks for, in the imperative. Field aliases are the GraphQL input names;
unknown fields are rejected; every format and bound of DESIGN section 3 is checked here, so an
invalid command never reaches `decide`."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

from . import rules


def _owner_id_length(value: str) -> str:
    # Measured as the resolvers measure it (`rules.utf16_length`), so that an owner whose accounts
    # can be opened can also list them. A lone surrogate never gets here: pydantic refuses a str it
    # cannot encode as UTF-8, and the resolvers refuse one too.
    if not 1 <= rules.utf16_length(value) <= rules.MAX_OWNER_ID_LENGTH:
        raise ValueError(f"must be 1..{rules.MAX_OWNER_ID_LENGTH} UTF-16 code units long")
    return value


Id = Annotated[str, StringConstraints(pattern=rules.ID_PATTERN)]
Currency = Annotated[str, StringConstraints(pattern=rules.CURRENCY_PATTERN)]
Amount = Annotated[int, Field(ge=rules.MIN_AMOUNT, le=rules.MAX_AMOUNT, strict=True)]
OwnerId = Annotated[str, StringConstraints(pattern=rules.OWNER_ID_PATTERN), AfterValidator(_owner_id_length)]


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)

    command_id: Id

    def payload(self) -> dict:
        """What must match for a repeated command id to count as the same command."""
        return self.model_dump(exclude={"command_id"})


class OpenAccount(Command):
    account_id: Id | None = None
    owner_id: OwnerId | None = None     # None: the calling user (`policy.owner_of_new_account`)
    currency: Currency
    initial_deposit: Annotated[int, Field(ge=0, le=rules.MAX_AMOUNT, strict=True)] | None = None


class _MoneyCommand(Command):
    account_id: Id
    amount: Amount
    expected_version: Annotated[int, Field(ge=0, strict=True)] | None = None


class Deposit(_MoneyCommand):
    pass


class Withdraw(_MoneyCommand):
    pass


class Transfer(Command):
    transfer_id: Id | None = None
    from_account_id: Id
    to_account_id: Id
    amount: Amount

    @model_validator(mode="after")
    def _distinct_accounts(self) -> "Transfer":
        if self.from_account_id == self.to_account_id:
            raise ValueError("fromAccountId and toAccountId must differ")
        return self


class CloseAccount(Command):
    account_id: Id
