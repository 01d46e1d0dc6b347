// Query.accounts: an owner's accounts through the byOwner index, paged by an opaque nextToken.
// `ownerId` defaults to the calling user; another owner's accounts only for admins and services.
import { util } from '@aws-appsync/utils';

// How AppSync reports a nextToken it cannot use. The token is opaque: the DynamoDB start key,
// encrypted. One that does not decrypt fails with UserIllegalArgumentException ("Invalid pagination
// token given."); a real one sent with another query has its start key refused by DynamoDB, a
// ValidationException that AppSync reports as DynamoDbException. Everything else in the request is
// fixed by this file and tested, so with a token present either type means the client's token is
// bad. Recognised by errorType, never by message text (which is AppSync's to change).
const BAD_TOKEN_ERRORS = ['DynamoDB:UserIllegalArgumentException', 'DynamoDB:DynamoDbException'];

// lambdas/banking/rules.py: DEFAULT_PAGE_LIMIT, MIN_PAGE_LIMIT, MAX_PAGE_LIMIT (APPSYNC_JS cannot
// import it; tests/unit/test_limits_agree.py checks that this file clamps as those say).
const DEFAULT_LIMIT = 50;
const MIN_LIMIT = 1;
const MAX_LIMIT = 100;

// lambdas/banking/rules.py MAX_OWNER_ID_LENGTH and OWNER_ID_PATTERN: an ownerId that openAccount
// refuses can own nothing, one it accepts must be listable (tests/unit/test_limits_agree.py runs both
// sides over one corpus). Lengths are UTF-16 code units: what `.length` counts, here as on AppSync,
// and what rules.utf16_length counts there.
const MAX_OWNER_ID_LENGTH = 128;
// No C0 control character, and no lone surrogate (pydantic refuses a string holding one). Written for
// whichever regex engine util.matches runs: Java's reads a surrogate pair as one code point (matched
// by the first class), JavaScript's as two units (matched by the second alternative); a lone
// surrogate matches neither.
const OWNER_ID = '(?:[^\\x00-\\x1f\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])+';

export function request(ctx) {
  const owner = ownerToList(ctx);
  if (owner.length < 1 || owner.length > MAX_OWNER_ID_LENGTH || !util.matches(OWNER_ID, owner)) {
    util.error(`ownerId must be 1..${MAX_OWNER_ID_LENGTH} UTF-16 code units of text without control characters`,
      'ValidationError', null, { fields: ['ownerId'] });
  }
  // The token's format is AppSync's and undocumented, so the only shape checked here is the one
  // every token has (a non-empty string); a wrong one is recognised from the data source's answer.
  if (ctx.args.nextToken === '') {
    util.error('nextToken is not valid', 'ValidationError', null, { fields: ['nextToken'] });
  }
  const requested = ctx.args.limit == null ? DEFAULT_LIMIT : ctx.args.limit;
  return {
    operation: 'Query',
    index: 'byOwner',
    query: {
      expression: '#owner = :owner',
      expressionNames: { '#owner': 'ownerId' },
      expressionValues: util.dynamodb.toMapValues({ ':owner': owner }),
    },
    limit: Math.min(Math.max(requested, MIN_LIMIT), MAX_LIMIT),
    nextToken: ctx.args.nextToken,
    scanIndexForward: true,
  };
}

// The owner asked for, or the calling user; a caller without a sub (a service, the API key) must
// name one (as openAccount requires: lambdas/banking/errors.py OwnerRequiredError).
function ownerToList(ctx) {
  const requested = ctx.args.ownerId;
  const identity = ctx.identity;
  if (requested == null) {
    if (identity == null || !identity.sub) {
      util.error('ownerId: required when the caller is not a user (a service or an API key)',
        'ValidationError', null, { fields: ['ownerId'] });
    }
    return identity.sub;
  }
  if (!seesEveryAccount(identity) && requested !== identity.sub) {
    util.error("not authorized to list another owner's accounts", 'Unauthorized', null,
      { action: "list another owner's accounts" });
  }
  return requested;
}

export function response(ctx) {
  if (ctx.error) {
    if (ctx.args.nextToken != null && BAD_TOKEN_ERRORS.includes(ctx.error.type)) {
      util.error('nextToken is not valid', 'ValidationError', null, { fields: ['nextToken'] });
    }
    internalFailure(ctx.error);
  }
  return { items: ctx.result.items, nextToken: ctx.result.nextToken };
}

// DESIGN section 3 "Who may call what": the API key (identity null: AppSync admits one only where the
// tenant enabled it), services (AWS_IAM: a userArn, no sub) and admins ("admins" in the user's
// groups) see every account; any other user only its own. The same rule as `sees_every_account` in
// lambdas/banking/policy.py; tests/unit/test_resolvers_authorization.py runs both over one set of
// callers. APPSYNC_JS has no imports between resolver files, so each one that needs it carries it.
const ADMINS_GROUP = 'admins';

function seesEveryAccount(identity) {
  if (identity == null) {
    return true;
  }
  if (!identity.sub) {
    return identity.userArn != null;
  }
  const claims = identity.claims || {};
  const groups = identity.groups || claims['cognito:groups'] || claims.groups || [];
  return typeof groups === 'string' ? groups === ADMINS_GROUP : groups.includes(ADMINS_GROUP);
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
