// Who the console calls the API as: a dev user of the tenant (a fresh ID token from the dev server,
// sent as `Authorization`, as Amplify sends a user pool token), or the tenant's API key where the
// tenant enables one. The choice survives a page reload; the token is fetched again each time.

const STORAGE_KEY = (tenant) => `tenantry-console:${tenant}:caller`;
const API_KEY_CALLER = '(API key)';

export class Session {
  constructor(config) {
    this.config = config;
    this.caller = null;
    this.headers = {};
    this.listeners = [];
  }

  callers() {
    const users = this.config.devUsers.map((u) => ({
      name: u.name, label: u.groups.length ? `${u.name} (${u.groups.join(', ')})` : u.name,
    }));
    return this.config.apiKey ? [...users, { name: API_KEY_CALLER, label: 'API key (full access)' }] : users;
  }

  credential() { return this.headers; }

  onChange(listener) { this.listeners.push(listener); }

  async signIn(name) {
    const response = await fetch(this.config.sessionUrl, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify(name === API_KEY_CALLER ? { apiKey: true } : { user: name }),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.message ?? `sign-in failed (HTTP ${response.status})`);
    this.caller = { name, sub: body.sub ?? null, groups: body.groups ?? [] };
    this.headers = body.apiKey ? { 'x-api-key': body.apiKey } : { Authorization: body.token };
    localStorage.setItem(STORAGE_KEY(this.config.tenant), name);
    for (const listener of this.listeners) listener(this.caller);
    return this.caller;
  }

  async restore() {
    const saved = localStorage.getItem(STORAGE_KEY(this.config.tenant));
    const known = this.callers().map((c) => c.name);
    return this.signIn(known.includes(saved) ? saved : known[0]);
  }
}

// The sign-in control in the header: a select of the tenant's dev users.
export function renderSignIn(element, session) {
  const select = document.createElement('select');
  select.id = 'caller';
  select.setAttribute('aria-label', 'Signed in as');
  for (const caller of session.callers()) {
    const option = document.createElement('option');
    option.value = caller.name;
    option.textContent = caller.label;
    select.appendChild(option);
  }
  const label = document.createElement('label');
  label.textContent = 'Signed in as ';
  label.appendChild(select);
  element.replaceChildren(label);
  select.addEventListener('change', () => session.signIn(select.value));
  session.onChange((caller) => { select.value = caller.name; });
}
