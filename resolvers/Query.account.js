// Query.account: one item of the accounts read model (DynamoDB data source "accounts").
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
  return ctx.result;
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
