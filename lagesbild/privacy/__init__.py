"""Pseudonymisation at the door and detection of personal data that must never get past ingest."""
