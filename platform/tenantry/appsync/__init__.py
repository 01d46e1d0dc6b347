"""The tenant's AppSync API as data (spec), and the local runtime that executes its resolvers."""
