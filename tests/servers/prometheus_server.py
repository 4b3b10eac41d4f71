"""Fixtures for prometheus_server (filled by the issue that needs them)."""
