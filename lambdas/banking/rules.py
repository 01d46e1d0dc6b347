"""The numbers and formats of DESIGN section 3, in one place.

The resolvers check some of them too, before a read reaches DynamoDB; APPSYNC_JS cannot import, so
each resolver repeats the ones it checks, and tests/unit/test_limits_agree.py runs those resolvers
and the Python validators over one corpus so that both sides accept and refuse the same inputs.
"""

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
MIN_AMOUNT = 1
MAX_AMOUNT = 1_000_000_000
MAX_BALANCE = 2_147_483_647
MAX_OWNER_ID_LENGTH = 128              # UTF-16 code units (`utf16_length`), not code points
OWNER_ID_PATTERN = r"^[^\x00-\x1f]+$"  # no C0 control character
DEFAULT_PAGE_LIMIT = 50                # `limit` of accounts/ledger: default, then clamped to MIN..MAX
MIN_PAGE_LIMIT = 1
MAX_PAGE_LIMIT = 100
# `accountAt(at:)` accepts instants from here on (in the stored layout of `occurred_at`). No event can
# be older, so an earlier instant is a client's mistake (a mistyped year, say "0318"): it is told so
# with a ValidationError rather than answered with a null that reads as "no account then".
EARLIEST_INSTANT = "1970-01-01T00:00:00.000000Z"


def utf16_length(text: str) -> int:
    """The length JavaScript's `.length` gives (so the resolvers' length): UTF-16 code units. A
    character outside the Basic Multilingual Plane (most emoji) counts two, as it does there; Python's
    `len` would count it one, and a limit measured both ways lets in what the other side refuses."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
