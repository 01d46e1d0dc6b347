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
    util.error(ctx.error.message, ctx.error.type);
  }
  return { items: ctx.result.items, nextToken: ctx.result.nextToken };
}
