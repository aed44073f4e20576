"""Fixtures for the examples' tests: where memorid runs.

In an app's own test suite these would read the environment, e.g.

    @pytest.fixture
    def memorid_target() -> str:
        return os.environ["MEMORID_TARGET"]

Here they point at the real memorid that this repository's test session
starts (tests/fixtures.py, on SQLite and on PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.fixtures import API_KEY, MemoridServer


@pytest.fixture
def memorid_target(server: MemoridServer) -> str:
    return server.target


@pytest.fixture
def memorid_api_key() -> str:
    return API_KEY
