"""The numbers and formats of DESIGN section 3, in one place."""

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
MIN_AMOUNT = 1
MAX_AMOUNT = 1_000_000_000
MAX_BALANCE = 2_147_483_647
MAX_OWNER_ID_LENGTH = 128
# `accountAt(at:)` accepts instants from here on (in the stored layout of `occurred_at`). No event can
# be older, so an earlier instant is a client's mistake (a mistyped year, say "0318"): it is told so
# with a ValidationError rather than answered with a null that reads as "no account then".
EARLIEST_INSTANT = "1970-01-01T00:00:00.000000Z"
