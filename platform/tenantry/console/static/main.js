// The console of one tenant: sign-in as a dev user, the accounts page, and GraphiQL with the
// tenant's schema (subscriptions run over AppSync's real-time protocol, in the browser).

import { AccountsPage } from './accounts.js';
import { Api, graphiqlFetcher } from './appsync.js';
import { Session, renderSignIn } from './session.js';

const DEFAULT_QUERY = `# Signed in as the user picked above; every request carries their token.
query MyAccounts {
  accounts { items { id balance currency version } }
}

subscription LiveBalances {
  onMyAccountsUpdated { accountId balance version }
}
`;

const config = JSON.parse(document.getElementById('config').textContent);
const messages = document.getElementById('messages');

function say(text) {
  const line = document.createElement('li');
  line.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  messages.prepend(line);
  while (messages.children.length > 50) messages.lastChild.remove();
}

function mountGraphiQL(element, api) {
  if (!window.GraphiQL || !window.React || !window.ReactDOM) {
    element.textContent = 'GraphiQL is not installed: run `make install` (it needs npm).';
    return;
  }
  const root = window.ReactDOM.createRoot(element);
  root.render(window.React.createElement(window.GraphiQL,
    { fetcher: graphiqlFetcher(api), defaultQuery: DEFAULT_QUERY }));
}

function showTab(name, pages) {
  for (const [tab, page] of Object.entries(pages)) {
    document.getElementById(`tab-${tab}`).setAttribute('aria-selected', String(tab === name));
    document.getElementById(`page-${tab}`).hidden = tab !== name;
    if (tab !== name) page.hide?.();
  }
  return pages[name].show?.();
}

function followReloads() {
  if (!config.eventsUrl) return;
  const events = new EventSource(config.eventsUrl);
  events.onmessage = (message) => say(JSON.parse(message.data).message);
}

async function start() {
  const session = new Session(config);
  const api = new Api({ ...config, credential: () => session.credential() });
  const accounts = new AccountsPage(document.getElementById('page-accounts'), api, say);
  // GraphiQL's editors measure their container when mounted: mount on first show, not while hidden.
  let graphiqlMounted = false;
  const graphiql = { show: () => { if (!graphiqlMounted) mountGraphiQL(document.getElementById('page-graphiql'), api); graphiqlMounted = true; } };
  const pages = { accounts, graphiql };
  renderSignIn(document.getElementById('signin'), session);
  session.onChange((caller) => {
    document.getElementById('whoami').textContent = caller.sub ? `sub ${caller.sub}` : '';
    say(`signed in as ${caller.name}`);
    if (!document.getElementById('page-accounts').hidden) accounts.show().catch((e) => say(e.message));
  });
  for (const tab of Object.keys(pages)) {
    document.getElementById(`tab-${tab}`).addEventListener('click', () => showTab(tab, pages));
  }
  await session.restore();
  followReloads();
}

start().catch((error) => say(`console failed to start: ${error.message}`));
