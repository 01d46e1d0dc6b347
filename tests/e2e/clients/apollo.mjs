// Apollo Client with AWS's AppSync links (aws-appsync-auth-link for queries and mutations,
// aws-appsync-subscription-link for the real-time protocol), as their README wires them, in
// AMAZON_COGNITO_USER_POOLS mode with the dev user's ID token the test passes in (`jwtToken`; the
// links also take a function returning one, for a token that is refreshed): openAccount, a live
// onAccountUpdated subscription, a deposit, the `account` query.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { AUTH_TYPE, createAuthLink } from 'aws-appsync-auth-link';
import { CONTROL_EVENTS_KEY, createSubscriptionHandshakeLink } from 'aws-appsync-subscription-link';
import { tap } from 'rxjs';

import { DEPOSIT_AMOUNT, caller, inputs, installWebSocket, run, waiter } from './common.mjs';

installWebSocket();
const { graphqlUrl, region, accountId, documents, deadlineMs } = inputs();
const { idToken } = caller();

await run(deadlineMs, async () => {
  const url = graphqlUrl;
  const auth = { type: AUTH_TYPE.AMAZON_COGNITO_USER_POOLS, jwtToken: idToken };
  // The subscription link tells when the server has acknowledged a subscription (start_ack) with a
  // control message, `{data: undefined, extensions: {controlMsgType: 'CONNECTED'}}`, passed on only
  // to operations whose context asks for control events. Apollo Client 4 drops every subscription
  // result without data or error before it reaches `client.subscribe`'s observer, so a link in
  // front of the subscription link watches for it instead.
  const controlMessages = [];
  const acknowledged = waiter(() => true);
  const watchControlMessages = new ApolloLink((operation, forward) => forward(operation).pipe(tap((result) => {
    const type = result.extensions?.controlMsgType;
    if (type !== undefined) {
      controlMessages.push(type);
      if (type === 'CONNECTED') acknowledged.offer(type);
    }
  })));
  const client = new ApolloClient({
    link: ApolloLink.from([
      createAuthLink({ url, region, auth }),
      watchControlMessages,
      createSubscriptionHandshakeLink({ url, region, auth }, new HttpLink({ uri: url })),
    ]),
    cache: new InMemoryCache(),
  });

  const opened = await client.mutate({
    mutation: gql(documents.open),
    variables: { input: { accountId, currency: 'EUR', commandId: `${accountId}-open` } },
  });

  const updates = [];
  let subscriptionError;
  const failed = new Promise((_, reject) => { subscriptionError = reject; });
  const arrived = waiter((update) => update.balance === DEPOSIT_AMOUNT);
  const subscription = client.subscribe({
    query: gql(documents.onUpdate),
    variables: { accountId },
    context: { controlMessages: { [CONTROL_EVENTS_KEY]: true } },
  }).subscribe({
    next: (result) => {
      if (result.error) {
        subscriptionError(result.error);
      } else {
        updates.push(result.data.onAccountUpdated);
        arrived.offer(result.data.onAccountUpdated);
      }
    },
    error: (error) => subscriptionError(error),
  });
  await Promise.race([acknowledged.promise, failed]);

  const deposited = await client.mutate({
    mutation: gql(documents.deposit),
    variables: { input: { accountId, amount: DEPOSIT_AMOUNT, commandId: `${accountId}-deposit` } },
  });
  const update = await Promise.race([arrived.promise, failed]);
  // The projector publishes after it has written the read model: the query sees the deposit.
  const account = await client.query({
    query: gql(documents.account), variables: { id: accountId }, fetchPolicy: 'network-only',
  });
  subscription.unsubscribe();
  return {
    opened: opened.data.openAccount,
    deposited: deposited.data.deposit,
    update,
    updates,
    account: account.data.account,
    controlMessages,
  };
});
