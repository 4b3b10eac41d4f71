"""The embedded default store: ``MemoryStore`` (state stays in each process)."""

from __future__ import annotations

from ._memory import MemoryStore

__all__ = ["MemoryStore"]
