"""Whole-table checks of Arrow data against a canonical table definition.

Used to check generated data and loaded tables in bulk (vectorised with pyarrow
compute); row-by-row validation with quarantine is the job of ingest.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from joinedup.schema.model import Table


def table_problems(definition: Table, data: pa.Table, examples: int = 3) -> list[str]:
    """Every way ``data`` breaks ``definition``: missing columns, types, nulls, codes,
    patterns, ranges and duplicate keys; an empty list when it conforms."""
    problems: list[str] = []
    name = definition.name
    for col in definition.columns:
        if col.name not in data.column_names:
            problems.append(f"{name}.{col.name}: column missing")
            continue
        values = data[col.name]
        if not values.type.equals(col.arrow_type):
            problems.append(f"{name}.{col.name}: type {values.type}, expected {col.arrow_type}")
            continue
        if not col.nullable and values.null_count:
            problems.append(f"{name}.{col.name}: {values.null_count} nulls in a required column")
        bad = None
        what = ""
        if col.codes is not None:
            allowed = pa.array(list(col.codes), col.arrow_type)
            bad = pc.invert(pc.is_in(values, value_set=allowed))
            what = f"a code of {col.code_list or 'its code list'}"
        elif col.pattern is not None:
            bad = pc.invert(pc.match_substring_regex(values, f"^(?:{col.pattern})$"))
            what = f"text matching {col.pattern}"
        if bad is not None:
            bad = pc.and_(pc.fill_null(bad, False), pc.is_valid(values))
            n_bad = pc.sum(bad).as_py() or 0
            if n_bad:
                sample = pc.filter(values, bad).slice(0, examples).to_pylist()
                problems.append(f"{name}.{col.name}: {n_bad} values not {what}, e.g. {sample}")
        for bound, op, word in ((col.minimum, pc.less, "below"), (col.maximum, pc.greater,
                                                                   "above")):  # fmt: skip
            if bound is not None:
                n_out = pc.sum(pc.fill_null(op(values, bound), False)).as_py() or 0
                if n_out:
                    problems.append(f"{name}.{col.name}: {n_out} values {word} {bound}")
    if definition.primary_key and all(k in data.column_names for k in definition.primary_key):
        keys = data.select(list(definition.primary_key))
        distinct = keys.group_by(list(definition.primary_key)).aggregate([]).num_rows
        if distinct != keys.num_rows:
            problems.append(
                f"{name}: {keys.num_rows - distinct} duplicate keys "
                f"({', '.join(definition.primary_key)})"
            )
    return problems
