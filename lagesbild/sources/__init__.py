"""Readers for the three sources (folder + HTTP over httpx), validation and quarantine."""
