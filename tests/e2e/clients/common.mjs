// What both client scripts share: their inputs, a WebSocket for Node 20, a deadline, one JSON line out.
//
// Inputs (environment, set by the Python test from `tenantry dev`'s dev.json):
//   TENANTRY_GRAPHQL_URL   the tenant's graphql_url (the real-time URL is left to the client to derive)
//   TENANTRY_API_KEY       the tenant's api_key
//   TENANTRY_ACCOUNT_ID    the account to open, deposit into and watch
//   TENANTRY_DOCUMENTS     JSON {open, deposit, account, onUpdate}: tests/e2e/documents.py's documents
//   TENANTRY_DEADLINE_MS   give up after this long (default 30000)
// Output: one JSON line on stdout and exit 0, or the error on stderr and exit 1.
import WebSocket from 'ws';

export const DEPOSIT_AMOUNT = 4200;

export function inputs() {
  const need = (name) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  return {
    graphqlUrl: need('TENANTRY_GRAPHQL_URL'),
    apiKey: need('TENANTRY_API_KEY'),
    accountId: need('TENANTRY_ACCOUNT_ID'),
    documents: JSON.parse(need('TENANTRY_DOCUMENTS')),
    deadlineMs: Number(process.env.TENANTRY_DEADLINE_MS || 30000),
  };
}

// Node 20 has no global WebSocket, and both Amplify and aws-appsync-subscription-link call
// `new WebSocket(url, protocols)` on the global (and read `WebSocket.OPEN`). As Amplify's
// maintainers advise for Node, the `ws` package is that global. This subclass changes nothing
// on the wire: it only records which URL and subprotocols the client dialed and the types of the
// frames both ways, so the test can check the URL derivation and a failure says how far it got.
export const wire = { dialed: [], frames: [] };

class RecordingWebSocket extends WebSocket {
  constructor(url, protocols, ...rest) {
    const list = Array.isArray(protocols) ? protocols : protocols ? [protocols] : [];
    wire.dialed.push({
      url: String(url),
      // `header-<base64url JSON>` carries the API key: record the decoded header names only.
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
