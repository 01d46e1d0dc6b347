"""The GraphQL documents the e2e tests and the benchmark send (the contract of DESIGN section 3)."""

RESULT = "accountId version balance commandId"
ACCOUNT = "id ownerId currency balance status version openedAt updatedAt"

OPEN = f"mutation Open($input: OpenAccountInput!) {{ openAccount(input: $input) {{ {RESULT} }} }}"
DEPOSIT = f"mutation Deposit($input: MoneyInput!) {{ deposit(input: $input) {{ {RESULT} }} }}"
WITHDRAW = f"mutation Withdraw($input: MoneyInput!) {{ withdraw(input: $input) {{ {RESULT} }} }}"
TRANSFER = (f"mutation Transfer($input: TransferInput!) {{ transfer(input: $input) "
            f"{{ transferId from {{ {RESULT} }} to {{ {RESULT} }} }} }}")
CLOSE = f"mutation Close($input: CloseAccountInput!) {{ closeAccount(input: $input) {{ {RESULT} }} }}"
PUBLISH = ("mutation Publish($input: AccountUpdateInput!) { publishAccountUpdate(input: $input) "
           "{ accountId balance version status updatedAt } }")

GET_ACCOUNT = f"query Account($id: ID!) {{ account(id: $id) {{ {ACCOUNT} }} }}"
ACCOUNTS = (f"query Accounts($ownerId: String!, $limit: Int, $nextToken: String) "
            f"{{ accounts(ownerId: $ownerId, limit: $limit, nextToken: $nextToken) "
            f"{{ items {{ {ACCOUNT} }} nextToken }} }}")
LEDGER = ("query Ledger($accountId: ID!, $limit: Int, $nextToken: String) "
          "{ ledger(accountId: $accountId, limit: $limit, nextToken: $nextToken) "
          "{ items { accountId version kind amount balanceAfter occurredAt counterpartyAccountId commandId } "
          "nextToken } }")
ACCOUNT_AT = (f"query AccountAt($id: ID!, $version: Int, $at: AWSDateTime) "
              f"{{ accountAt(id: $id, version: $version, at: $at) {{ {ACCOUNT} }} }}")

ON_UPDATE = ("subscription OnUpdate($accountId: ID!) { onAccountUpdated(accountId: $accountId) "
             "{ accountId balance version status updatedAt } }")
