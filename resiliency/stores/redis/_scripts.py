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


def sync_client(client: Any) -> Any:
    """The sync client to use for ``client``: itself, a ``RedisStore``'s, or an asyncio client's twin.

    The write-path stores talk to Redis from sync code (async callers reach them through a
    worker thread), so an asyncio client (or a ``RedisStore`` made from one) lends its
    settings to a sync client on the same server.
    """
    from ._store import _ASYNC_CLIENTS, _sync_twin

    if hasattr(client, "sync_client") and not callable(getattr(client, "register_script", None)):
        return client.sync_client  # a RedisStore
    if isinstance(client, _ASYNC_CLIENTS):
        return _sync_twin(client)
    return client
