// The accounts page: the signed-in user's accounts with balances that update live
// (onMyAccountsUpdated), an account's ledger, and time travel (accountAt by version) as a slider
// over the account's history with a small chart of the balance over versions.

import { chart } from './chart.js';

const ACCOUNTS = `query ConsoleAccounts($next: String) {
  accounts(limit: 100, nextToken: $next) {
    items { id ownerId currency balance status version openedAt updatedAt } nextToken } }`;
const MY_UPDATES = `subscription ConsoleMyAccounts {
  onMyAccountsUpdated { accountId ownerId balance version status updatedAt } }`;
const LEDGER = `query ConsoleLedger($id: ID!, $next: String) {
  ledger(accountId: $id, limit: 100, nextToken: $next) {
    items { version kind amount balanceAfter occurredAt counterpartyAccountId } nextToken } }`;
const ACCOUNT_AT = `query ConsoleAccountAt($id: ID!, $version: Int) {
  accountAt(id: $id, version: $version) { id balance version status updatedAt } }`;
const OPEN = `mutation ConsoleOpen($input: OpenAccountInput!) {
  openAccount(input: $input) { accountId version balance commandId } }`;

const money = (cents, currency) => `${(cents / 100).toFixed(2)} ${currency}`;

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

async function allPages(api, query, variables, field) {
  const items = [];
  let next = null;
  do {
    const page = (await api.request(query, { ...variables, next }))[field];
    items.push(...page.items);
    next = page.nextToken;
  } while (next);
  return items;
}

export class AccountsPage {
  constructor(root, api, say) {
    this.root = root;
    this.api = api;
    this.say = say;
    this.accounts = new Map();
    this.stopLive = null;
    this.selected = null;
  }

  async show() {
    this.root.innerHTML = `
      <section class="panel"><h2>My accounts <span id="live" class="badge">connecting</span></h2>
        <table id="accounts"><thead><tr><th>account</th><th>balance</th><th>version</th><th>status</th>
          <th>updated</th></tr></thead><tbody></tbody></table>
        <form id="open-account">
          <input name="currency" value="EUR" size="4" pattern="[A-Z]{3}" aria-label="currency">
          <input name="initialDeposit" type="number" min="0" value="10000" aria-label="initial deposit (cents)">
          <button>Open a new account</button></form></section>
      <section class="panel" id="detail" hidden></section>`;
    this.root.querySelector('#open-account').addEventListener('submit', (e) => this.open(e));
    this.subscribe();
    await this.reload();
  }

  hide() {
    if (this.stopLive) this.stopLive();
    this.stopLive = null;
  }

  subscribe() {
    this.hide();
    const badge = this.root.querySelector('#live');
    this.stopLive = this.api.subscribe(MY_UPDATES, {}, {
      onReady: () => { badge.textContent = 'live'; badge.classList.add('on'); },
      onData: (payload) => this.update(payload.data.onMyAccountsUpdated),
      onError: (error) => { badge.textContent = 'offline'; this.say(error.message); },
    });
  }

  async reload() {
    const items = await allPages(this.api, ACCOUNTS, {}, 'accounts');
    this.accounts = new Map(items.map((a) => [a.id, a]));
    this.renderList();
  }

  renderList() {
    const body = this.root.querySelector('#accounts tbody');
    body.replaceChildren();
    for (const account of [...this.accounts.values()].sort((a, b) => a.openedAt < b.openedAt ? -1 : 1)) {
      const row = body.insertRow();
      row.dataset.accountId = account.id;
      const link = cell(row, '').appendChild(document.createElement('a'));
      link.href = `#${account.id}`;
      link.textContent = account.id;
      link.addEventListener('click', (e) => { e.preventDefault(); this.select(account.id); });
      cell(row, money(account.balance, account.currency ?? ''), 'balance');
      cell(row, String(account.version), 'version');
      cell(row, account.status);
      cell(row, account.updatedAt);
    }
  }

  update(change) {
    const known = this.accounts.get(change.accountId);
    if (known && change.version <= known.version) return;        // an older update, already shown
    this.accounts.set(change.accountId, { currency: known?.currency ?? '', ...known, ...change, id: change.accountId });
    this.renderList();
    const row = this.root.querySelector(`tr[data-account-id="${CSS.escape(change.accountId)}"]`);
    row?.classList.add('flash');
    if (this.selected === change.accountId) this.select(change.accountId);
  }

  async open(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    const input = { currency: form.get('currency'), initialDeposit: Number(form.get('initialDeposit')),
                    commandId: crypto.randomUUID() };
    try {
      const { openAccount } = await this.api.request(OPEN, { input });
      this.say(`opened ${openAccount.accountId}`);
      await this.reload();
    } catch (error) {
      this.say(error.message);
    }
  }

  async select(accountId) {
    this.selected = accountId;
    const detail = this.root.querySelector('#detail');
    const account = this.accounts.get(accountId);
    const entries = await allPages(this.api, LEDGER, { id: accountId }, 'ledger');
    detail.hidden = false;
    detail.innerHTML = `<h2>Account <code id="detail-id"></code></h2>
      <div class="travel"><label>Time travel: version <output id="travel-version"></output>
        <input id="travel" type="range" min="1" step="1"></label>
        <p>Balance then: <strong id="travel-balance"></strong> <span id="travel-at"></span></p></div>
      <div id="chart"></div>
      <table id="ledger"><thead><tr><th>version</th><th>kind</th><th>amount</th><th>balance after</th>
        <th>counterparty</th><th>when</th></tr></thead><tbody></tbody></table>`;
    detail.querySelector('#detail-id').textContent = accountId;
    const body = detail.querySelector('#ledger tbody');
    for (const entry of entries) {
      const row = body.insertRow();
      [entry.version, entry.kind, entry.amount, entry.balanceAfter, entry.counterpartyAccountId ?? '',
        entry.occurredAt].forEach((v) => cell(row, String(v)));
    }
    const slider = detail.querySelector('#travel');
    slider.max = String(account?.version ?? entries.at(-1)?.version ?? 1);
    slider.value = slider.max;
    slider.addEventListener('input', () => this.travel(accountId, Number(slider.value), entries));
    await this.travel(accountId, Number(slider.value), entries);
  }

  async travel(accountId, version, entries) {
    const detail = this.root.querySelector('#detail');
    detail.querySelector('#travel-version').textContent = String(version);
    const { accountAt } = await this.api.request(ACCOUNT_AT, { id: accountId, version });
    const currency = this.accounts.get(accountId)?.currency ?? '';
    detail.querySelector('#travel-balance').textContent = accountAt ? money(accountAt.balance, currency) : '-';
    detail.querySelector('#travel-at').textContent = accountAt ? `(${accountAt.status}, ${accountAt.updatedAt})` : '';
    detail.querySelector('#chart').replaceChildren(chart(entries.map((e) => [e.version, e.balanceAfter]), version));
  }
}
