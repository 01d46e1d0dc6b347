"""The numbers and formats of DESIGN section 3, in one place."""

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
MIN_AMOUNT = 1
MAX_AMOUNT = 1_000_000_000
MAX_BALANCE = 2_147_483_647
MAX_OWNER_ID_LENGTH = 128
