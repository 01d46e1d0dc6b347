"""Physical layout of the event-store table: the one place its key and attribute names live.

The Pulumi component, the DynamoDB store, the publisher's filter criteria and the moto fixtures all
read these constants, so the table they build and the table the code expects cannot drift.

Attribute names are short on purpose: DynamoDB bills reads and writes by item size, names included,
and the command path must stay within one read unit at any history length (DESIGN section 7).
"""

PARTITION_KEY = "pk"          # aggregate id
SORT_KEY = "v"                # version, 1, 2, 3 ... with no gaps
PARTITION_KEY_TYPE = "S"
SORT_KEY_TYPE = "N"

# Item kind: lets the publisher's event source mapping filter on event inserts only.
KIND = "k"
KIND_EVENT = "event"

EVENT_TYPE = "e"             # top level too: readable in the console, usable in filter criteria
DATA = "d"                   # compact JSON of the event body
# Every other envelope field travels in one compact JSON attribute: DynamoDB bills the bytes either
# way, but each attribute is one more value for every SDK (and emulator) to marshal on every read.
META = "m"

# Keys inside META.
META_AGGREGATE_TYPE = "t"
META_EVENT_ID = "id"
META_SCHEMA_VERSION = "sv"
META_OCCURRED_AT = "at"
META_TENANT_ID = "tn"
META_COMMAND_ID = "c"
META_CORRELATION_ID = "co"    # left out when equal to the command id
META_CAUSATION_ID = "ca"      # left out when equal to the command id
META_ACTOR = "ac"
META_PAYLOAD_HASH = "h"       # hash of the command payload, for idempotency checks
# Written since issue 10 (older items keep the long forms above, and still read):
# - an id that is a canonical UUID is stored as its 22 base64url characters under another key;
# - the schema version is left out when it is 1;
# - the tenant id is left out when it is the table's own (tables are per tenant);
# - occurred-at is an integer of microseconds since 1970 (a string in older items).
META_UUID_FORMS = {META_EVENT_ID: "I", META_COMMAND_ID: "C", META_CORRELATION_ID: "O", META_CAUSATION_ID: "A"}

# A snapshot rides on the event item whose version it folds up to (no extra write, no extra read).
SNAPSHOT_STATE = "ss"         # compact JSON of the state
SNAPSHOT_SCHEMA = "sh"        # schema hash of the serialized state; unknown -> ignored
SNAPSHOT_POINTER = "sp"       # S3 key when the state is too large for the item (spilled)

# Archive bucket key prefixes.
ARCHIVE_PREFIX = "archive/"
SNAPSHOT_PREFIX = "snapshots/"

MAX_TRANSACT_ITEMS = 100
