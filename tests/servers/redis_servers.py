"""Fixtures for redis_servers (filled by the issue that needs them)."""
