// Query.accounts: an owner's accounts through the byOwner index, paged by an opaque nextToken.
import { util } from '@aws-appsync/utils';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 100;

const MAX_OWNER_ID_LENGTH = 128;

export function request(ctx) {
  const owner = ctx.args.ownerId;
  if (owner.length < 1 || owner.length > MAX_OWNER_ID_LENGTH) {
    util.error(`ownerId must be 1..${MAX_OWNER_ID_LENGTH} characters`, 'ValidationError');
  }
  const requested = ctx.args.limit == null ? DEFAULT_LIMIT : ctx.args.limit;
  return {
    operation: 'Query',
    index: 'byOwner',
    query: {
      expression: '#owner = :owner',
      expressionNames: { '#owner': 'ownerId' },
      expressionValues: util.dynamodb.toMapValues({ ':owner': ctx.args.ownerId }),
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
