# Generated from highload/cache/_async/__init__.py by `python scripts/unasync.py`: edit that file and regenerate, not this one.
"""One flavour of the cache's I/O classes. ``highload/cache/_async/`` is the source, written once;
``highload/cache/_sync/`` is generated from it by ``python scripts/unasync.py``."""
