// Mutation.publishAccountUpdate (NONE data source, IAM only): the projector's push; AppSync fans
// the returned AccountUpdate out to onAccountUpdated subscribers.
import { util } from '@aws-appsync/utils';

export function request(ctx) {
  return { payload: ctx.args.input };
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
