// AWS Amplify JS v6, configured as for any AppSync API in API key mode, against `tenantry dev --tls`:
// openAccount, a live onAccountUpdated subscription, a deposit, the `account` query; prints what it saw.
// Node trusts the local CA through NODE_EXTRA_CA_CERTS (fetch and `ws` both use Node's TLS).
import { DEPOSIT_AMOUNT, inputs, installWebSocket, run, waiter } from './common.mjs';

installWebSocket();
const { Amplify } = await import('aws-amplify');
const { generateClient, CONNECTION_STATE_CHANGE, ConnectionState } = await import('aws-amplify/api');
const { Hub } = await import('aws-amplify/utils');

const { graphqlUrl, apiKey, accountId, documents, deadlineMs } = inputs();

await run(deadlineMs, async () => {
  Amplify.configure({
    API: { GraphQL: { endpoint: graphqlUrl, region: 'us-east-1', defaultAuthMode: 'apiKey', apiKey } },
  });
  const client = generateClient();
  const states = [];
  const connected = waiter((state) => state === ConnectionState.Connected);
  Hub.listen('api', ({ payload }) => {
    if (payload.event === CONNECTION_STATE_CHANGE) {
      states.push(payload.data.connectionState);
      connected.offer(payload.data.connectionState);
    }
  });

  const opened = await client.graphql({
    query: documents.open,
    variables: { input: { accountId, ownerId: 'amplify', currency: 'EUR', commandId: `${accountId}-open` } },
  });

  const updates = [];
  let subscriptionError;
  const arrived = waiter((update) => update.balance === DEPOSIT_AMOUNT);
  const failed = new Promise((_, reject) => { subscriptionError = reject; });
  const subscription = client.graphql({ query: documents.onUpdate, variables: { accountId } }).subscribe({
    next: ({ data }) => {
      updates.push(data.onAccountUpdated);
      arrived.offer(data.onAccountUpdated);
    },
    error: (error) => subscriptionError(error),
  });
  // Amplify reports "Connected" once the server has acknowledged the subscription (start_ack).
  await Promise.race([connected.promise, failed]);

  const deposited = await client.graphql({
    query: documents.deposit,
    variables: { input: { accountId, amount: DEPOSIT_AMOUNT, commandId: `${accountId}-deposit` } },
  });
  const update = await Promise.race([arrived.promise, failed]);
  // The projector publishes after it has written the read model: the query sees the deposit.
  const account = await client.graphql({ query: documents.account, variables: { id: accountId } });
  subscription.unsubscribe();
  return {
    opened: opened.data.openAccount,
    deposited: deposited.data.deposit,
    update,
    updates,
    account: account.data.account,
    connectionStates: states,
  };
});
