// Query.ledger: an account's ledger entries, oldest first (sort key = version), paged.
import { util } from '@aws-appsync/utils';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 100;

const ID = '[A-Za-z0-9_-]{1,64}';

export function request(ctx) {
  if (!util.matches(ID, ctx.args.accountId)) {
    util.error('accountId must match ^[A-Za-z0-9_-]{1,64}$', 'ValidationError');
  }
  const requested = ctx.args.limit == null ? DEFAULT_LIMIT : ctx.args.limit;
  return {
    operation: 'Query',
    query: {
      expression: '#account = :account',
      expressionNames: { '#account': 'accountId' },
      expressionValues: util.dynamodb.toMapValues({ ':account': ctx.args.accountId }),
    },
    limit: Math.min(Math.max(requested, 1), MAX_LIMIT),
    nextToken: ctx.args.nextToken,
    scanIndexForward: true,
  };
}

export function response(ctx) {
  if (ctx.error) {
    internalFailure(ctx.error);
  }
  return { items: ctx.result.items, nextToken: ctx.result.nextToken };
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
