"""Pulumi components of one tenant's platform. `TenantPlatform` (platform.py) assembles them."""
