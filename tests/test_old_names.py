"""Module paths the structure work retired still import, for one release, as plain aliases:
the same objects, and nothing on stderr (nbgrader scores a graded cell 0 on any stderr)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import highload.cache

CACHE_PATHS = {
    "highload.cache.aside": ["CacheAside"],
    "highload.cache.async_aside": ["AsyncCacheAside"],
    "highload.cache.near": ["NearCache"],
    "highload.cache.async_near": ["AsyncNearCache"],
    "highload.cache.through": ["WriteThroughCache", "AsyncWriteThroughCache"],
    "highload.cache.writeback": ["WriteBackCache", "AsyncWriteBackCache"],
    "highload.cache.redis_backend": ["RedisBackend", "AsyncRedisBackend", "OUTAGE_ERRORS"],
}


@pytest.mark.parametrize("path", sorted(CACHE_PATHS))
def test_old_cache_module_paths_are_the_public_objects(path):
    module = importlib.import_module(path)
    for name in CACHE_PATHS[path]:
        assert getattr(module, name) is getattr(highload.cache, name), f"{path}.{name}"


def test_old_paths_import_silently_even_with_warnings_as_errors():
    imports = "; ".join(f"import {path}" for path in sorted(CACHE_PATHS))
    done = subprocess.run([sys.executable, "-W", "error", "-c", imports + "; import highload.store"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr
