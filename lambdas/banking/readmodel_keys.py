"""Physical layout of the read-model tables, shared by the projector, the AppSync resolvers'
data sources, the Pulumi component and the test fixtures.

Attribute names equal the GraphQL field names of DESIGN section 3, so resolvers return items as-is.
"""

# accounts: one item per account.
ACCOUNTS_PARTITION_KEY = "id"
ACCOUNTS_BY_OWNER_INDEX = "byOwner"
ACCOUNTS_BY_OWNER_PARTITION_KEY = "ownerId"
ACCOUNTS_BY_OWNER_SORT_KEY = "id"

# ledger: one item per balance-affecting event, oldest first by version.
LEDGER_PARTITION_KEY = "accountId"
LEDGER_SORT_KEY = "version"
# The account's owner on every entry, so that Query.ledger checks ownership in the one read it makes
# (resolvers/Query.ledger.js); an account's owner never changes. Not a GraphQL field.
LEDGER_OWNER = "ownerId"

ACCOUNT_FIELDS = ("id", "ownerId", "currency", "balance", "status", "version", "openedAt", "updatedAt")
LEDGER_FIELDS = (
    "accountId", "version", "kind", "amount", "balanceAfter", "occurredAt",
    "counterpartyAccountId", "commandId",
)
LEDGER_ATTRIBUTES = (*LEDGER_FIELDS, LEDGER_OWNER)     # what a stored entry may hold
