// Query.account: one item of the accounts read model (DynamoDB data source "accounts"), for its
// owner, admins and services: the owner is in the item, so the check costs no extra read.
import { util } from '@aws-appsync/utils';

// lambdas/banking/rules.py ID_PATTERN, without its anchors: util.matches matches the whole string.
// tests/unit/test_limits_agree.py checks both accept and refuse the same ids.
const ID = '[A-Za-z0-9_-]{1,64}';

export function request(ctx) {
  // A malformed id can match nothing: answer ValidationError instead of a DynamoDB error.
  if (!util.matches(ID, ctx.args.id)) {
    util.error('id must match ^[A-Za-z0-9_-]{1,64}$', 'ValidationError', null, { fields: ['id'] });
  }
  return {
    operation: 'GetItem',
    key: util.dynamodb.toMapValues({ id: ctx.args.id }),
  };
}

export function response(ctx) {
  if (ctx.error) {
    internalFailure(ctx.error);
  }
  if (ctx.result && !seesEveryAccount(ctx.identity) && ctx.result.ownerId !== ctx.identity.sub) {
    unauthorized('read', ctx.args.id);
  }
  return ctx.result;
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
