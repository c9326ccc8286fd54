"""One flavour of the cache's I/O classes. ``highload/cache/_async/`` is the source, written once;
``highload/cache/_sync/`` is generated from it by ``python scripts/unasync.py``."""
