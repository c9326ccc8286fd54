"""The old module path of ``RedisBackend``, ``AsyncRedisBackend``, ``OUTAGE_ERRORS``, kept importable for one release.

Import them from :mod:`highload.cache`. A plain re-export with no warning: nbgrader scores a
graded cell 0 on any stderr.
"""

from highload.cache import OUTAGE_ERRORS, AsyncRedisBackend, RedisBackend

__all__ = ["RedisBackend", "AsyncRedisBackend", "OUTAGE_ERRORS"]
