// AWS Amplify JS v6 against `tenantry dev --tls`, configured as README's snippet shows: it signs a
// dev user in with Amplify's own `signIn` at the twin's Cognito endpoint (`userPoolEndpoint`), then
// in `userPool` mode opens an account, subscribes to onAccountUpdated, deposits, queries the
// account; prints what it saw (and, in `wire.cognito`, which Cognito calls the sign-in made).
// Node trusts the local CA through NODE_EXTRA_CA_CERTS (fetch and `ws` both use Node's TLS).
import { DEPOSIT_AMOUNT, caller, inputs, installWebSocket, recordCognitoCalls, run, waiter } from './common.mjs';

installWebSocket();
const { Amplify } = await import('aws-amplify');
const { fetchAuthSession, signIn } = await import('aws-amplify/auth');
const { generateClient, CONNECTION_STATE_CHANGE, ConnectionState } = await import('aws-amplify/api');
const { Hub } = await import('aws-amplify/utils');

const { graphqlUrl, region, accountId, documents, deadlineMs } = inputs();
const user = caller();
recordCognitoCalls(user.cognitoEndpoint);

await run(deadlineMs, async () => {
  Amplify.configure({
    Auth: { Cognito: { userPoolId: user.userPoolId, userPoolClientId: user.userPoolClientId,
                       userPoolEndpoint: user.cognitoEndpoint } },
    API: { GraphQL: { endpoint: graphqlUrl, region, defaultAuthMode: 'userPool' } },
  });
  const signedIn = await signIn({
    username: user.username, password: user.password,
    options: user.authFlowType ? { authFlowType: user.authFlowType } : undefined,
  });
  const { tokens } = await fetchAuthSession();
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
    variables: { input: { accountId, currency: 'EUR', commandId: `${accountId}-open` } },
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
    signedIn,
    idToken: { sub: tokens.idToken.payload.sub, token_use: tokens.idToken.payload.token_use },
    opened: opened.data.openAccount,
    deposited: deposited.data.deposit,
    update,
    updates,
    account: account.data.account,
    connectionStates: states,
  };
});
