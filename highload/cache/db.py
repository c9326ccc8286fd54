"""Moved to :mod:`highload.lab.database` (teaching code lives in ``highload.lab``).

This alias keeps ``highload.cache.db`` (and ``from highload.cache import Database``, which
:mod:`highload.cache` resolves lazily through this module) working, without a warning, until
the next release.
"""

from highload.lab.database import SCHEMA, Database, Rows, Table

__all__ = ["Database", "Table", "Rows", "SCHEMA"]
