"""Benchmarks that print the figures of DESIGN section 7 (run as `python -m bench.<name>`)."""
