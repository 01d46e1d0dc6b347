// Generic direct-Lambda resolver: every command mutation and Query.accountAt.
// The command Lambda reports every failure it catches as {error: {message, type, info}} (its
// Powertools exception handlers, lambdas/handlers/graphql_errors.py): domain and validation errors
// with their contract errorType, its own faults as InternalFailure with an error id. ctx.error is an
// invocation that failed outright (a crash before the handler, a timeout, a throttle, an init
// error): its text is Lambda's or the runtime's, never meant for clients.
import { util } from '@aws-appsync/utils';

export function request(ctx) {
  return {
    operation: 'Invoke',
    payload: {
      arguments: ctx.arguments,
      identity: ctx.identity,
      source: ctx.source,
      request: { headers: ctx.request.headers },
      info: ctx.info,
      prev: ctx.prev,
      stash: ctx.stash,
    },
  };
}

export function response(ctx) {
  if (ctx.error) {
    internalFailure(ctx.error);
  }
  if (ctx.result && ctx.result.error) {
    util.error(ctx.result.error.message, ctx.result.error.type, null, ctx.result.error.info);
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
