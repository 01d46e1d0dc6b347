// Subscription.onMyAccountsUpdated: every update of the calling user's accounts, by an enhanced
// filter on the owner the projector publishes with each update (AccountUpdate.ownerId). Only a
// user has accounts of its own: a caller without a sub is refused.
import { util, extensions } from '@aws-appsync/utils';

export function request(ctx) {
  return { payload: null };
}

export function response(ctx) {
  if (ctx.error) {
    internalFailure(ctx.error);
  }
  if (ctx.identity == null || !ctx.identity.sub) {
    util.error('not authorized to subscribe to onMyAccountsUpdated without a user', 'Unauthorized', null,
      { action: 'subscribe to onMyAccountsUpdated' });
  }
  extensions.setSubscriptionFilter(util.transform.toSubscriptionFilter({ ownerId: { eq: ctx.identity.sub } }));
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
