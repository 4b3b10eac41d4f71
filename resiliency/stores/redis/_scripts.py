"""The Lua scripts beside this module, loaded once per client (EVALSHA, reloaded on NOSCRIPT)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

__all__ = ["script"]


@cache
def _source(name: str) -> str:
    return resources.files(__package__).joinpath(f"{name}.lua").read_text(encoding="utf-8")


def script(client: Any, name: str) -> Any:
    """Return ``client.register_script`` of ``name``.lua (redis-py runs EVALSHA, loads on NOSCRIPT)."""
    return client.register_script(_source(name))
