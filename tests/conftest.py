"""Shared by every test: the build cache of `vyn run` (runtime/build_cache.py) is off
unless a test turns it on (tests/test_build_cache.py points it at a temporary directory),
so the suite neither reads nor fills the user's ~/.cache/vyn and every other test runs
the compiler as it did before the cache existed. Subprocesses inherit the setting."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _build_cache_off():
    previous = os.environ.get("VYN_CACHE")
    os.environ["VYN_CACHE"] = "off"
    yield
    if previous is None:
        os.environ.pop("VYN_CACHE", None)
    else:
        os.environ["VYN_CACHE"] = previous
