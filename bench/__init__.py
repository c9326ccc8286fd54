"""Benchmarks against peers and physical floors: they print measurements, never assert on time.

``python -m bench ratelimit [--repeats N] [--quick]``; see ``bench/README.md``.
"""
