"""Code that runs inside AWS Lambda: the event-sourcing kernel, the banking domain, the handlers.

Never imports `pulumi` or `tenantry` (tests/unit/test_layout.py keeps that rule).
"""
