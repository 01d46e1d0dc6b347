// What the client scripts share: their inputs, a WebSocket for Node 20, a deadline, one JSON line out.
//
// Inputs (environment, set by tests/e2e/frontends.py from `tenantry dev`'s dev.json):
//   TENANTRY_GRAPHQL_URL   the tenant's graphql_url (the real-time URL is left to the client to derive)
//   TENANTRY_REGION        the tenant's region
//   TENANTRY_ACCOUNT_ID    the account to open (owned by the signed-in user), deposit into and watch
//   TENANTRY_DOCUMENTS     JSON {open, deposit, account, onUpdate}: tests/e2e/documents.py's documents
//   TENANTRY_DEADLINE_MS   give up after this long (default 30000)
// and the caller, one of two ways (`caller()` reads them):
//   TENANTRY_ID_TOKEN      a dev user's ID token (apollo.mjs: AMAZON_COGNITO_USER_POOLS with it)
// or the dev user's sign-in (amplify.mjs signs in itself, with Amplify's own `signIn`):
//   TENANTRY_USER_POOL_ID, TENANTRY_USER_POOL_CLIENT_ID, TENANTRY_COGNITO_ENDPOINT (dev.json's
//   emulator_url: Amplify's userPoolEndpoint), TENANTRY_USERNAME, TENANTRY_PASSWORD, and
//   TENANTRY_AUTH_FLOW (optional: Amplify's authFlowType; unset, Amplify's default USER_SRP_AUTH)
// Output: one JSON line on stdout and exit 0, or the error on stderr and exit 1.
import WebSocket from 'ws';

export const DEPOSIT_AMOUNT = 4200;

function need(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

export function inputs() {
  return {
    graphqlUrl: need('TENANTRY_GRAPHQL_URL'),
    region: need('TENANTRY_REGION'),
    accountId: need('TENANTRY_ACCOUNT_ID'),
    documents: JSON.parse(need('TENANTRY_DOCUMENTS')),
    deadlineMs: Number(process.env.TENANTRY_DEADLINE_MS || 30000),
  };
}

// The caller: `{idToken}` if the test signed the user in, else what a sign-in needs.
export function caller() {
  if (process.env.TENANTRY_ID_TOKEN) return { idToken: process.env.TENANTRY_ID_TOKEN };
  return {
    userPoolId: need('TENANTRY_USER_POOL_ID'),
    userPoolClientId: need('TENANTRY_USER_POOL_CLIENT_ID'),
    cognitoEndpoint: need('TENANTRY_COGNITO_ENDPOINT'),
    username: need('TENANTRY_USERNAME'),
    password: need('TENANTRY_PASSWORD'),
    authFlowType: process.env.TENANTRY_AUTH_FLOW || undefined,
  };
}

// Node 20 has no global WebSocket, and both Amplify and aws-appsync-subscription-link call
// `new WebSocket(url, protocols)` on the global (and read `WebSocket.OPEN`). As Amplify's
// maintainers advise for Node, the `ws` package is that global. This subclass changes nothing
// on the wire: it only records which URL and subprotocols the client dialed and the types of the
// frames both ways, so the test can check the URL derivation and a failure says how far it got.
export const wire = { dialed: [], frames: [], cognito: [] };

class RecordingWebSocket extends WebSocket {
  constructor(url, protocols, ...rest) {
    const list = Array.isArray(protocols) ? protocols : protocols ? [protocols] : [];
    wire.dialed.push({
      url: String(url),
      // `header-<base64url JSON>` carries the token: record the decoded header names only.
      protocols: list.map((p) => (p.startsWith('header-') ? 'header-<base64url>' : p)),
      headerNames: list.filter((p) => p.startsWith('header-')).flatMap((p) =>
        Object.keys(JSON.parse(Buffer.from(p.slice('header-'.length), 'base64url').toString()))),
    });
    super(url, protocols, ...rest);
    this.addEventListener('message', (event) => wire.frames.push(`< ${frameType(event.data)}`));
    this.addEventListener('close', (event) => wire.frames.push(`closed ${event.code} ${event.reason}`));
  }

  send(data, ...rest) {
    wire.frames.push(`> ${frameType(data)}`);
    return super.send(data, ...rest);
  }
}

function frameType(data) {
  try {
    return JSON.parse(String(data)).type ?? '?';
  } catch {
    return 'not JSON';
  }
}

// On a Node with a WebSocket of its own (22+) `ws` replaces it all the same, so every Node
// version runs the same client code and records the same wire.
export function installWebSocket() {
  globalThis.WebSocket = RecordingWebSocket;
}

// Records each call to the Cognito endpoint (Amplify's Auth speaks to it with the global `fetch`):
// the operation, the flow or challenge it named, and the HTTP status; never the body's secrets.
export function recordCognitoCalls(endpoint) {
  const fetch = globalThis.fetch;
  globalThis.fetch = async (url, init = {}) => {
    if (!String(url).startsWith(endpoint)) return fetch(url, init);
    const headers = new Headers(init.headers);
    const body = JSON.parse(init.body || '{}');
    const call = { operation: (headers.get('x-amz-target') || '').split('.').pop(),
                   flow: body.AuthFlow ?? body.ChallengeName };
    wire.cognito.push(call);
    const response = await fetch(url, init);
    call.status = response.status;
    return response;
  };
}

// Resolves with the first value `accept` takes; the returned `offer` is fed every value seen.
export function waiter(accept) {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, offer: (value) => { if (accept(value)) resolve(value); } };
}

// Runs `main`, bounded by the deadline: prints its result as one JSON line and exits 0, or
// prints the error (with how far the WebSocket got) and exits 1. Never waits for open handles.
export async function run(deadlineMs, main) {
  const timer = setTimeout(() => fail(new Error(`no result within ${deadlineMs} ms`)), deadlineMs);
  try {
    const result = await main();
    clearTimeout(timer);
    process.stdout.write(`${JSON.stringify({ ...result, wire })}\n`, () => process.exit(0));
  } catch (error) {
    fail(error);
  }
}

function fail(error) {
  const detail = error instanceof Error ? error.stack : JSON.stringify(error);
  process.stderr.write(`${detail}\nwire: ${JSON.stringify(wire)}\n`, () => process.exit(1));
}
