"""Fixtures for dns_server (filled by the issue that needs them)."""
