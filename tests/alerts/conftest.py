"""Fixtures for tests/alerts live in alerts_helpers.py (a unique module name: several test folders share pytest's rootdir)."""

from alerts_helpers import *  # noqa: F403
