// Subscription.onAccountUpdated: a subscriber only receives updates of the account it asked for.
import { util, extensions } from '@aws-appsync/utils';

export function request(ctx) {
  return { payload: null };
}

export function response(ctx) {
  if (ctx.error) {
    internalFailure(ctx.error);
  }
  extensions.setSubscriptionFilter(
    util.transform.toSubscriptionFilter({ accountId: { eq: ctx.args.accountId } }),
  );
  return null;
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
