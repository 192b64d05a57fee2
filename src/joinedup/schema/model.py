"""The building blocks of the canonical schema: columns and tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pyarrow as pa

# Logical type -> Arrow type. Ibis and every backend derive their types from Arrow.
ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
}


@dataclass(frozen=True)
class Column:
    """One column of a canonical table.

    ``codes`` names the allowed values (a code list from :mod:`joinedup.schema.codes`);
    ``pattern`` is a regular expression a string value must match in full;
    ``minimum``/``maximum`` bound numbers.
    """

    name: str
    dtype: str
    description: str
    nullable: bool = True
    codes: Mapping[object, str] | None = None
    code_list: str | None = None
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None

    def __post_init__(self) -> None:
        if self.dtype not in ARROW_TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.dtype!r}")

    @property
    def arrow_type(self) -> pa.DataType:
        """The Arrow type that stores this column."""
        return ARROW_TYPES[self.dtype]


@dataclass(frozen=True)
class Table:
    """One canonical table: its grain, key and columns."""

    name: str
    grain: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    person_level: bool = False
    # Columns that hold dates which must not fall after the person's death.
    event_date_columns: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(names) != len(set(names)):
            raise ValueError(f"table {self.name}: duplicate column names")
        for key in self.primary_key:
            if key not in names:
                raise ValueError(f"table {self.name}: key {key} is not a column")

    @property
    def column_names(self) -> list[str]:
        """Column names in schema order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name!r}")

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of this table (canonical columns only)."""
        return pa.schema(
            [pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns]
        )
