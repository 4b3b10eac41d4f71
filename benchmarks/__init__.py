"""Benchmarks of resiliency against the bare call and peer libraries (not part of the test run).

Run ``python benchmarks/run.py``; see ``benchmarks/README.md``.
"""
