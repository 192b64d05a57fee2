"""The canonical schema: the one source of truth for tables, columns and code lists."""

from joinedup.schema import codes
from joinedup.schema.model import ARROW_TYPES, Column, Table
from joinedup.schema.tables import SYSTEM_TABLES, TABLES


def table(name: str) -> Table:
    """The canonical table called ``name``, with a clear error for an unknown name."""
    try:
        return TABLES[name]
    except KeyError:
        known = ", ".join(TABLES)
        raise KeyError(f"unknown table {name!r}; the canonical tables are: {known}") from None


__all__ = ["ARROW_TYPES", "SYSTEM_TABLES", "TABLES", "Column", "Table", "codes", "table"]
