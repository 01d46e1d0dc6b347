// Query.ledger: an account's ledger entries, oldest first (sort key = version), paged; for the
// account's owner, admins and services. Every entry carries the account's owner (the projector
// writes it: lambdas/banking/projections.py), so the page itself says whose it is: one read, no
// pipeline to fetch the account first. An account's owner never changes.
import { util } from '@aws-appsync/utils';

// How AppSync reports a nextToken it cannot use. The token is opaque: the DynamoDB start key,
// encrypted. One that does not decrypt fails with UserIllegalArgumentException ("Invalid pagination
// token given."); a real one sent with another query has its start key refused by DynamoDB, a
// ValidationException that AppSync reports as DynamoDbException. Everything else in the request is
// fixed by this file and tested, so with a token present either type means the client's token is
// bad. Recognised by errorType, never by message text (which is AppSync's to change).
const BAD_TOKEN_ERRORS = ['DynamoDB:UserIllegalArgumentException', 'DynamoDB:DynamoDbException'];

// lambdas/banking/rules.py: DEFAULT_PAGE_LIMIT, MIN_PAGE_LIMIT, MAX_PAGE_LIMIT (APPSYNC_JS cannot
// import it; tests/unit/test_limits_agree.py checks that this file clamps as those say).
const DEFAULT_LIMIT = 50;
const MIN_LIMIT = 1;
const MAX_LIMIT = 100;

// lambdas/banking/rules.py ID_PATTERN, without its anchors: util.matches matches the whole string.
// tests/unit/test_limits_agree.py checks both accept and refuse the same ids.
const ID = '[A-Za-z0-9_-]{1,64}';

export function request(ctx) {
  if (!util.matches(ID, ctx.args.accountId)) {
    util.error('accountId must match ^[A-Za-z0-9_-]{1,64}$', 'ValidationError', null, { fields: ['accountId'] });
  }
  // The token's format is AppSync's and undocumented, so the only shape checked here is the one
  // every token has (a non-empty string); a wrong one is recognised from the data source's answer.
  if (ctx.args.nextToken === '') {
    util.error('nextToken is not valid', 'ValidationError', null, { fields: ['nextToken'] });
  }
  const requested = ctx.args.limit == null ? DEFAULT_LIMIT : ctx.args.limit;
  return {
    operation: 'Query',
    query: {
      expression: '#account = :account',
      expressionNames: { '#account': 'accountId' },
      expressionValues: util.dynamodb.toMapValues({ ':account': ctx.args.accountId }),
    },
    limit: Math.min(Math.max(requested, MIN_LIMIT), MAX_LIMIT),
    nextToken: ctx.args.nextToken,
    scanIndexForward: true,
  };
}

export function response(ctx) {
  if (ctx.error) {
    if (ctx.args.nextToken != null && BAD_TOKEN_ERRORS.includes(ctx.error.type)) {
      util.error('nextToken is not valid', 'ValidationError', null, { fields: ['nextToken'] });
    }
    internalFailure(ctx.error);
  }
  const items = ctx.result.items;
  if (!seesEveryAccount(ctx.identity) && items.some((item) => item.ownerId !== ctx.identity.sub)) {
    unauthorized('read', ctx.args.accountId);
  }
  return { items: items, nextToken: ctx.result.nextToken };
}

// DESIGN section 3 "Who may call what": the API key (identity null: AppSync admits one only where the
// tenant enabled it), services (AWS_IAM: a userArn, no sub) and admins ("admins" in the user's
// groups) see every account; any other user only its own. The same rule as `sees_every_account` in
// lambdas/banking/policy.py; tests/unit/test_resolvers_authorization.py runs both over one set of
// callers. APPSYNC_JS has no imports between resolver files, so each one that needs it carries it.
const ADMINS_GROUP = 'admins';

function seesEveryAccount(identity) {
  if (identity == null) {
    return true;
  }
  if (!identity.sub) {
    return identity.userArn != null;
  }
  const claims = identity.claims || {};
  const groups = identity.groups || claims['cognito:groups'] || claims.groups || [];
  return typeof groups === 'string' ? groups === ADMINS_GROUP : groups.includes(ADMINS_GROUP);
}

// The Unauthorized error the command Lambda gives too (lambdas/banking/errors.py UnauthorizedError):
// the account is named, its owner never.
function unauthorized(action, accountId) {
  util.error(`not authorized to ${action} account ${accountId}`, 'Unauthorized', null,
    { action: action, account_id: accountId });
}

// DESIGN section 6: an internal fault reaches the client as a generic message with an id; the full
// text goes to the API's log under that id (console.error is logged at field log level ERROR).
// APPSYNC_JS has no imports between resolver files, so every resolver carries this same function.
function internalFailure(error) {
  const errorId = util.autoId();
  console.error(`InternalFailure ${errorId}: ${error.type}: ${error.message}`);
  util.error(`An internal error occurred (error id ${errorId})`, 'InternalFailure', null,
    { errorId: errorId, cause: error.type });
}
