"""pytest set-up for the Python client: the shared fixtures live in
tests/fixtures.py (also used by the examples' tests)."""

pytest_plugins = ["tests.fixtures"]
