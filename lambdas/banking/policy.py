"""Who may do what to which account (DESIGN section 3, "Who may call what"), as pure functions.

Callers come in three kinds: a user of the tenant's user pool or OIDC provider (`sub` and groups;
an admin when in `admins`), a service calling with AWS_IAM (its role ARN), and the API key of a
sandbox tenant (a full-access service credential: AppSync lets a key in only where it is enabled).
Ownership comes from the caller, never from arguments. The policy sees the account's owner as the
event store has it (`owners`: account id -> owner id, "" or absent for an account that does not
exist yet), so it runs after the aggregate is loaded and before `decide`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .commands import CloseAccount, Deposit, OpenAccount, Transfer, Withdraw
from .errors import OwnerRequiredError, UnauthorizedError
from .queries import AccountAt

# The group the Pulumi program declares in each user pool (tenantry.config reads it from here).
ADMINS_GROUP = "admins"
API_KEY_ACTOR = "api-key"


@dataclass(frozen=True, slots=True)
class User:
    sub: str
    groups: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Service:
    arn: str


@dataclass(frozen=True, slots=True)
class ApiKey:
    pass


Caller = User | Service | ApiKey
# What in-process callers act as (ops tools, benches, tests): a service, trusted like one.
TRUSTED = Service("in-process")
Guarded = OpenAccount | Deposit | Withdraw | Transfer | CloseAccount | AccountAt


def actor(caller: Caller) -> str:
    """The event envelope's `actor`: the user's sub, the service's role ARN, or "api-key"."""
    match caller:
        case User(sub=sub):
            return sub
        case Service(arn=arn):
            return arn
    return API_KEY_ACTOR


def sees_every_account(caller: Caller) -> bool:
    """Admins, services and the API key act on any account; a plain user only on its own."""
    return not isinstance(caller, User) or ADMINS_GROUP in caller.groups


def owner_of_new_account(caller: Caller, requested: str | None) -> str:
    """openAccount's owner: the one asked for, or else the calling user."""
    if requested is not None:
        return requested
    if isinstance(caller, User):
        return caller.sub
    raise OwnerRequiredError()


def authorize(caller: Caller, command: Guarded, owners: Mapping[str, str]) -> None:
    """None when `caller` may run `command`; raises UnauthorizedError (nothing is written) if not."""
    if sees_every_account(caller):
        return
    assert isinstance(caller, User)
    match command:
        case OpenAccount(owner_id=owner_id):
            if owner_id != caller.sub:
                raise UnauthorizedError("open an account for another owner")
        case Transfer(from_account_id=account_id):
            _require_owner(caller, "transfer from", account_id, owners)
        case Deposit(account_id=account_id) | Withdraw(account_id=account_id):
            _require_owner(caller, "move money on", account_id, owners)
        case CloseAccount(account_id=account_id):
            _require_owner(caller, "close", account_id, owners)
        case AccountAt(id=account_id):
            _require_owner(caller, "read", account_id, owners)
        case _:
            raise TypeError(f"no policy for {command!r}")


def _require_owner(caller: User, action: str, account_id: str, owners: Mapping[str, str]) -> None:
    # An account that does not exist has no owner to protect: `decide` answers AccountNotFound,
    # as it does for every caller (ids are chosen by clients, so existence is not a secret).
    owner = owners.get(account_id) or None
    if owner is not None and owner != caller.sub:
        raise UnauthorizedError(action, account_id)
