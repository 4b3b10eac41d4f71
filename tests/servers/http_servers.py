"""Fixtures for http_servers (filled by the issue that needs them)."""
