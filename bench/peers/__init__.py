"""The designs measured side by side with ours: the `eventsourcing` library (on DynamoDB and on its
in-memory POPO recorder) and the naive design. Each is a `Driver` (see `bench.drivers`)."""
