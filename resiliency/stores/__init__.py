"""Stores for state shared across processes: ``resiliency.stores.redis`` (needs the ``redis`` extra).

Nothing here is imported by ``import resiliency``; import the store you use.
"""
