// Subscription.onAccountUpdated: a subscriber only receives updates of the account it asked for.
import { util, extensions } from '@aws-appsync/utils';

export function request(ctx) {
  return { payload: null };
}

export function response(ctx) {
  if (ctx.error) {
    util.error(ctx.error.message, ctx.error.type);
  }
  extensions.setSubscriptionFilter(
    util.transform.toSubscriptionFilter({ accountId: { eq: ctx.args.accountId } }),
  );
  return null;
}
