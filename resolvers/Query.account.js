// Query.account: one item of the accounts read model (DynamoDB data source "accounts").
import { util } from '@aws-appsync/utils';

const ID = '[A-Za-z0-9_-]{1,64}';

export function request(ctx) {
  // A malformed id can match nothing: answer ValidationError instead of a DynamoDB error.
  if (!util.matches(ID, ctx.args.id)) {
    util.error('id must match ^[A-Za-z0-9_-]{1,64}$', 'ValidationError');
  }
  return {
    operation: 'GetItem',
    key: util.dynamodb.toMapValues({ id: ctx.args.id }),
  };
}

export function response(ctx) {
  if (ctx.error) {
    util.error(ctx.error.message, ctx.error.type);
  }
  return ctx.result;
}
