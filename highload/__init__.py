"""highload: production-grade primitives for high-load backends.

Modules are imported on demand, e.g. ``from highload.ratelimit import TokenBucket``.
"""

__version__ = "0.1.0"
