"""Fixtures for tests/report live in report_helpers.py (a unique module name: several test folders share pytest's rootdir)."""

from report_helpers import *  # noqa: F403
