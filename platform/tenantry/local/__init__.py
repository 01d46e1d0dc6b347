"""The local platform: an embedded AWS emulator, the applier that creates what a tenant declares in
it, the in-process Lambda runtime, the event source mapping pollers and the AppSync dev server.

Import from the submodules; this package imports nothing, because `tenantry.local.cli` is loaded
for every `tenantry` subcommand and must not pull in moto, boto3 or V8 with it.

    from tenantry.local.applier import apply
    from tenantry.local.emulator import Emulator
    from tenantry.local.lambda_runtime import LambdaRuntime
    from tenantry.local.pollers import Pollers

    with Emulator() as emulator:
        tenant = apply(declare(config), emulator, tenant="acme")
        runtime = LambdaRuntime(tenant, emulator, env_overrides={"GRAPHQL_URL": url})
        with Pollers(tenant, runtime, emulator):
            runtime.invoke("acme-commands", event)
"""
