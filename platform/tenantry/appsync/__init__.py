"""The local AppSync emulation, in one package: what a tenant's API declares (`spec`, `schema`),
how its resolvers run (`executor`, `jsruntime`, `v8`, `dynamodb_ops`, `filters`), how an
operation executes (`graphql_http`, `limits`), the HTTP and real-time server (`server`,
`realtime`) and who may call it (`auth`, one authenticator per declared auth mode)."""
