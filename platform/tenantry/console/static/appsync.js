// A tenant's GraphQL API as a browser frontend calls it: HTTP for queries and mutations, AppSync's
// real-time protocol (graphql-ws subprotocol, header in a `header-<base64url>` subprotocol) for
// subscriptions. The same calls work against AWS AppSync; nothing here knows it runs locally.

const CONNECTION_INIT = { type: 'connection_init' };

function base64url(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export class GraphQLError extends Error {
  constructor(errors) {
    super(errors.map((e) => `${e.errorType ?? 'Error'}: ${e.message}`).join('; '));
    this.errors = errors;
  }
}

export class Api {
  // credential() returns the auth headers of the signed-in caller: {Authorization} or {'x-api-key'}.
  constructor({ graphqlUrl, realtimeUrl, credential }) {
    this.graphqlUrl = graphqlUrl;
    this.realtimeUrl = realtimeUrl;
    this.credential = credential;
    this.host = new URL(graphqlUrl).host;
  }

  // The whole GraphQL response ({data, errors}); request() throws on errors instead.
  async execute(query, variables = {}, operationName = undefined) {
    const response = await fetch(this.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...this.credential() },
      body: JSON.stringify({ query, variables, operationName }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok && !body.errors) {
      const errorType = response.headers.get('x-amzn-ErrorType') ?? `HTTP ${response.status}`;
      return { errors: [{ errorType, message: body.message ?? response.statusText }] };
    }
    return body;
  }

  async request(query, variables = {}) {
    const body = await this.execute(query, variables);
    if (body.errors?.length) throw new GraphQLError(body.errors);
    return body.data;
  }

  // Calls onData(payload) for every event; returns a function that stops the subscription.
  subscribe(query, variables, { onData, onError = () => {}, onReady = () => {} }) {
    const header = { host: this.host, ...this.credential() };
    const socket = new WebSocket(this.realtimeUrl, ['graphql-ws', `header-${base64url(JSON.stringify(header))}`]);
    const id = crypto.randomUUID();
    let stopped = false;
    socket.onopen = () => socket.send(JSON.stringify(CONNECTION_INIT));
    socket.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      if (frame.type === 'connection_ack') {
        socket.send(JSON.stringify({
          id, type: 'start',
          payload: { data: JSON.stringify({ query, variables }), extensions: { authorization: header } },
        }));
      } else if (frame.type === 'start_ack') {
        onReady();
      } else if (frame.type === 'data' && frame.id === id) {
        onData(frame.payload);
      } else if (frame.type === 'error' || frame.type === 'connection_error') {
        onError(new GraphQLError(frame.payload?.errors ?? [{ message: 'subscription refused' }]));
      } else if (frame.type === 'complete') {
        socket.close();
      }
    };
    socket.onclose = (event) => {
      if (!stopped && event.code !== 1000) onError(new Error(`real-time connection closed (${event.code})`));
    };
    return () => {
      stopped = true;
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'stop', id }));
      socket.close();
    };
  }
}

// Is the operation GraphiQL is about to run a subscription? (No parser needed: the first keyword of
// the chosen operation says it.)
export function isSubscription(query, operationName) {
  const source = query.replace(/#[^\n]*/g, '');
  if (operationName) return new RegExp(`\\bsubscription\\s+${operationName}\\b`).test(source);
  return /^\s*subscription\b/.test(source);
}

// GraphiQL's fetcher contract: a promise for queries and mutations, an async iterable of results
// for subscriptions (ended by GraphiQL calling return()).
export function graphiqlFetcher(api) {
  return (params) => {
    if (!isSubscription(params.query, params.operationName)) {
      return api.execute(params.query, params.variables ?? {}, params.operationName ?? undefined);
    }
    return subscriptionIterable(api, params);
  };
}

function subscriptionIterable(api, params) {
  const queue = [];
  let wake = null;
  let done = false;
  const push = (item) => { queue.push(item); if (wake) { wake(); wake = null; } };
  const stop = api.subscribe(params.query, params.variables ?? {}, {
    onData: (payload) => push({ value: payload }),
    onError: (error) => push({ value: { errors: error.errors ?? [{ message: error.message }] } }),
  });
  return {
    [Symbol.asyncIterator]() { return this; },
    async next() {
      while (!queue.length && !done) await new Promise((resolve) => { wake = resolve; });
      if (done) return { done: true, value: undefined };
      return { done: false, value: queue.shift().value };
    },
    async return() { done = true; stop(); if (wake) wake(); return { done: true, value: undefined }; },
  };
}
