// Generic direct-Lambda resolver: every command mutation and Query.accountAt.
// The command Lambda reports domain and validation errors as {error: {message, type}} (its
// Powertools exception handlers), so the typed errorType reaches the client; an unhandled
// Lambda failure arrives as ctx.error (errorType "Lambda:Unhandled").
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
    util.error(ctx.error.message, ctx.error.type);
  }
  if (ctx.result && ctx.result.error) {
    util.error(ctx.result.error.message, ctx.result.error.type, null, ctx.result.error.info);
  }
  return ctx.result;
}
