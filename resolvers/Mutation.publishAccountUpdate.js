// Mutation.publishAccountUpdate (NONE data source, IAM only): the projector's push; AppSync fans
// the returned AccountUpdate out to onAccountUpdated subscribers.
import { util } from '@aws-appsync/utils';

export function request(ctx) {
  return { payload: ctx.args.input };
}

export function response(ctx) {
  if (ctx.error) {
    util.error(ctx.error.message, ctx.error.type);
  }
  return ctx.result;
}
