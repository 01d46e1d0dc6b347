"""JavaScript side of the local `@aws-appsync/utils`: the subset Tenantry's resolvers use.

Every namespace is a Proxy: a member that is not implemented here throws `NotImplementedLocally`
naming it, so a resolver never silently gets `undefined` where AppSync would give a value.
"""

SHIM_JS = r"""
var __tenantry = (function () {
  class NotImplementedLocally extends Error {}
  class UtilError extends Error {
    constructor(message, errorType, data, errorInfo) {
      super(message);
      this.errorType = errorType === undefined ? null : errorType;
      this.data = data === undefined ? null : data;
      this.errorInfo = errorInfo === undefined ? null : errorInfo;
    }
  }
  class EarlyReturn extends Error {
    constructor(value) { super('earlyReturn'); this.value = value; }
  }

  const state = { errors: [], filter: null, logs: [] };

  function strict(path, target) {
    return new Proxy(target, {
      get(t, key) {
        if (typeof key === 'symbol' || key in t) return t[key];
        // Probes made by the engine or by JSON, never by resolver code.
        if (key === 'toJSON' || key === 'then') return undefined;
        throw new NotImplementedLocally(
          '@aws-appsync/utils: ' + path + '.' + String(key) + ' is not implemented by the local runtime');
      },
    });
  }

  function toDynamoDB(value) {
    if (value === null || value === undefined) return { NULL: true };
    if (typeof value === 'string') return { S: value };
    if (typeof value === 'number') return { N: value };
    if (typeof value === 'boolean') return { BOOL: value };
    if (Array.isArray(value)) return { L: value.map(toDynamoDB) };
    if (typeof value === 'object') return { M: toMapValues(value) };
    throw new TypeError('util.dynamodb.toDynamoDB: unsupported value ' + String(value));
  }
  function toMapValues(obj) {
    const out = {};
    for (const key of Object.keys(obj)) {
      if (obj[key] !== undefined) out[key] = toDynamoDB(obj[key]);
    }
    return out;
  }

  function filtersOf(obj) {
    const filters = [];
    for (const fieldName of Object.keys(obj)) {
      const rules = obj[fieldName];
      for (const operator of Object.keys(rules)) {
        filters.push({ fieldName: fieldName, operator: operator, value: rules[operator] });
      }
    }
    return filters;
  }
  function toSubscriptionFilter(obj, ignoredFields, rules) {
    if (ignoredFields !== undefined || rules !== undefined) {
      throw new NotImplementedLocally(
        '@aws-appsync/utils: util.transform.toSubscriptionFilter(ignoredFields, rules) is not implemented by the local runtime');
    }
    const groups = obj.or ? obj.or : [obj];
    return { filterGroup: groups.map(function (g) { return { filters: filtersOf(g) }; }) };
  }

  function uuid4() {
    const hex = '0123456789abcdef';
    let out = '';
    for (let i = 0; i < 36; i++) {
      if (i === 8 || i === 13 || i === 18 || i === 23) out += '-';
      else if (i === 14) out += '4';
      else if (i === 19) out += hex[8 + Math.floor(Math.random() * 4)];
      else out += hex[Math.floor(Math.random() * 16)];
    }
    return out;
  }

  const util = strict('util', {
    error(message, errorType, data, errorInfo) { throw new UtilError(message, errorType, data, errorInfo); },
    appendError(message, errorType, data, errorInfo) {
      state.errors.push({
        message: message,
        errorType: errorType === undefined ? null : errorType,
        data: data === undefined ? null : data,
        errorInfo: errorInfo === undefined ? null : errorInfo,
      });
    },
    unauthorized() { throw new UtilError('Unauthorized', 'Unauthorized', null, null); },
    autoId: uuid4,
    // AppSync's util.matches is a whole-string match (Java's String.matches).
    matches(pattern, data) { return new RegExp('^(?:' + pattern + ')$').test(String(data)); },
    isNull(v) { return v === null || v === undefined; },
    isNullOrEmpty(v) { return v === null || v === undefined || v === ''; },
    defaultIfNull(v, d) { return v === null || v === undefined ? d : v; },
    dynamodb: strict('util.dynamodb', { toDynamoDB: toDynamoDB, toMapValues: toMapValues }),
    time: strict('util.time', {
      nowISO8601() { return new Date().toISOString(); },
      nowEpochSeconds() { return Math.floor(Date.now() / 1000); },
      nowEpochMilliSeconds() { return Date.now(); },
    }),
    transform: strict('util.transform', { toSubscriptionFilter: toSubscriptionFilter }),
  });
  // A handler's console output goes to the API's log, as AppSync writes it to CloudWatch.
  function logger(level) {
    return function () {
      const parts = [];
      for (let i = 0; i < arguments.length; i++) {
        const arg = arguments[i];
        parts.push(typeof arg === 'string' ? arg : JSON.stringify(arg));
      }
      state.logs.push({ level: level, message: parts.join(' ') });
    };
  }
  globalThis.console = strict('console', {
    log: logger('INFO'), info: logger('INFO'), warn: logger('WARN'), error: logger('ERROR'), debug: logger('DEBUG'),
  });
  const runtime = strict('runtime', {
    earlyReturn(value) { throw new EarlyReturn(value === undefined ? null : value); },
  });
  const extensions = strict('extensions', {
    setSubscriptionFilter(filter) { state.filter = filter; },
  });
  const utils = strict('@aws-appsync/utils', { util: util, runtime: runtime, extensions: extensions });

  const modules = {};

  function invoke(name, phase, ctxJson) {
    const mod = modules[name];
    const ctx = JSON.parse(ctxJson);
    ctx.args = ctx.arguments;
    state.errors = [];
    state.filter = null;
    state.logs = [];
    function outcome(kind, extra) {
      const base = { outcome: kind, stash: ctx.stash, errors: state.errors, filter: state.filter, logs: state.logs };
      return JSON.stringify(Object.assign(base, extra));
    }
    try {
      const value = mod[phase](ctx);
      return outcome('ok', { value: value === undefined ? null : value });
    } catch (e) {
      if (e instanceof UtilError) {
        return outcome('error', { error: {
          message: e.message, errorType: e.errorType, data: e.data, errorInfo: e.errorInfo } });
      }
      if (e instanceof EarlyReturn) return outcome('early_return', { value: e.value });
      if (e instanceof NotImplementedLocally) return outcome('not_implemented', { message: e.message });
      return outcome('code_error', { message: String(e && e.stack ? e.stack : e) });
    }
  }

  return { utils: utils, modules: modules, invoke: invoke };
})();
"""
