"""Restricted alerts for the county analyst: ads stating an age under 18 and sudden changes.

Alerts are never statistics and never published: they live under ``<data_dir>/restricted/alerts/``
(mode 0700), and everything that leaves that folder (logs, Dagster metadata, notifications) carries
counts only.
"""
