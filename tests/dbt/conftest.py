"""Fixtures for tests/dbt live in dbt_helpers.py (a unique module name: several test folders share pytest's rootdir)."""

from dbt_helpers import *  # noqa: F403
