"""Tenantry: Pulumi components, tenant configuration, the CLI and the local platform."""
