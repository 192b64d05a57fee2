"""The warehouse: canonical tables behind one backend-neutral interface.

Capabilities read tables as Ibis expressions (``wh.table("apc_spell")``) and so run
unchanged on every backend. Writing (loads as batches) is the only backend-specific
part and lives in the backend's subclass.
"""

from joinedup.warehouse.base import Batch, Warehouse, default_warehouse_path, open_warehouse

__all__ = ["Batch", "Warehouse", "default_warehouse_path", "open_warehouse"]
