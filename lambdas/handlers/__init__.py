"""Thin Lambda entry points. Each module exposes `handler(event, context)`."""
