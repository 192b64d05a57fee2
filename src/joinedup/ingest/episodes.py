"""Episodes become spells: HES and SUS admitted patient care arrive one row per episode.

A provider spell (admission to discharge at one provider) is made of consultant
episodes, numbered by their order in the spell (HES ``EPIORDER``). A mapping with an
``episodes:`` block (see :class:`joinedup.ingest.mapping.Episodes`) loads such a file
into ``apc_spell`` one row per *spell*:

- episodes are grouped by the spell identifier where the extract has one (the
  mapping fills ``spell_id``), otherwise by person, provider and admission date;
- the spell takes its columns from its first episode, its discharge (date and
  destination) from its last, and any ``total`` columns (cost) summed over episodes;
- the diagnoses and procedures of every episode are kept, with the episode they came
  from (``apc_diagnosis.episode``, ``apc_procedure.episode``) and their positions;
- a spell id made here is a hash of the grouping (``H`` and 20 hex characters): the
  same episodes give the same id in any load.

A group of episodes that cannot form one consistent spell is quarantined, every
episode with the reason: another of its episodes failed a check, an episode order
repeated or missing (the spell's first episode may be in the previous year's file),
or admission method, admission date or person differing between its episodes.
``load_batch.rows_read`` counts the file's episodes; ``rows_accepted`` counts the
episodes in loaded spells, so read = accepted + quarantined still holds, and the
table holds one row per spell.

The work runs in DuckDB over the spilled episodes (out of core), after every chunk
has been validated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from joinedup.ingest.mapping import Episodes
from joinedup.schema import TABLES

#: The quarantine field for an episode order that is missing or not a number.
ORDER_FIELD = "episode_order"
ORDER_EXPECTED = "expected the episode's order in its spell: a whole number 1-99"
#: Columns that group episodes into a spell where the extract has no spell id.
GROUP_COLUMNS = ("person_id", "provider_code", "admitted_on")


def parse_order(raw: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Episode orders as int16 (HES writes ``01``..``98``), and a mask of the rows
    whose order is missing or not a whole number 1-99."""
    text = pc.utf8_trim_whitespace(raw.cast(pa.string()))
    ok = pc.fill_null(pc.match_substring_regex(text, r"^0?[1-9]$|^[1-9][0-9]$"), False)
    values = pc.cast(pc.if_else(ok, text, pa.scalar(None, pa.string())), pa.int16())
    return values, ~ok.to_numpy(zero_copy_only=False)


def provisional_ids(rows: np.ndarray) -> pa.Array:
    """Stand-in spell ids (the source row) for files without one; replaced when the
    spells are built."""
    return pc.cast(pa.array(rows, pa.int64()), pa.string())


def episode_keys(data: pa.Table, order: pa.Array, rows: pa.Array, bad: pa.Array) -> pa.Table:
    """What the spell checks need of every episode, bad ones too: its grouping
    columns, order, source row and whether it failed another check."""
    cols = {c: data[c] for c in ("spell_id", *GROUP_COLUMNS)}
    return pa.table({**cols, "_order": order, "_source_row": rows, "_bad": bad})


@dataclass
class Spells:
    """What building the spells made: files in the spill folder and counts."""

    spells: Path  # apc_spell rows (with _source_row: the first episode's)
    also: dict[str, Path]  # other tables, spell ids and episodes filled in
    rejected: Path  # _source_row, _bad, field, reason of episodes now quarantined
    n_spells: int = 0
    n_rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # "field: kind" -> episodes


def build(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    keys: Path,
    episodes: Path | None,
    also: dict[str, Path],
    spec: Episodes,
    has_spell_id: bool,
    columns: list[str],
) -> Spells:
    """Group the spilled ``episodes`` (valid rows of apc_spell, with ``_source_row``)
    into spells, checking each group over ``keys`` (every row); ``also``: spilled rows
    of the mapping's other tables. ``columns``: apc_spell's columns, in order."""
    out = Spells(folder / "_spells.parquet", {}, folder / "_rejected.parquet")
    group = (
        "spell_id"
        if has_spell_id
        else " || '|' || ".join(
            f"CAST({c} AS VARCHAR)" if c == "admitted_on" else c for c in GROUP_COLUMNS
        )
    )
    con.execute(
        f"CREATE OR REPLACE TABLE k AS SELECT _source_row, _bad, _order, {group} AS g "
        "FROM read_parquet($1)",
        [str(keys)],
    )
    if episodes is None:  # no valid episode at all
        con.execute(
            "CREATE OR REPLACE TABLE m AS SELECT k.*, NULL::VARCHAR AS person_id, "
            "NULL::VARCHAR AS admission_method, NULL::DATE AS admitted_on FROM k WHERE false"
        )
    else:
        con.execute(
            "CREATE OR REPLACE TABLE m AS SELECT e.*, k.g, k._order FROM read_parquet($1) e "
            "JOIN k USING (_source_row)",
            [str(episodes)],
        )
    _reject(con, out.rejected)
    out.n_rejected, out.reasons = _rejected_counts(con)
    if episodes is None:
        return out
    con.execute(
        "CREATE OR REPLACE TABLE ok AS SELECT * FROM m "
        "WHERE _source_row NOT IN (SELECT _source_row FROM rejected)"
    )
    spell_id = "f.spell_id" if has_spell_id else "'H' || substr(sha256(f.g), 1, 20)"
    last = set(spec.last)
    total = set(spec.total)

    def pick(c: str) -> str:
        if c == "spell_id":
            return f"{spell_id} AS spell_id"
        if c in last or c in total:
            return f'l."{c}"'
        return f'f."{c}"'

    totals = "".join(f', sum("{c}") AS "{c}"' for c in spec.total)
    # In steps, one join at a time, the build side narrow (each spell's last episode's
    # columns and its totals), so DuckDB keeps within its cap or spills.
    con.execute(
        f"CREATE OR REPLACE TABLE t AS SELECT g, max(_order) AS hi{totals} FROM ok GROUP BY g"
    )
    lasts = "".join(f', ok."{c}"' for c in columns if c in last)
    sums = "".join(f', t."{c}"' for c in spec.total)
    con.execute(
        f"CREATE OR REPLACE TABLE l AS SELECT ok.g{lasts}{sums} FROM ok JOIN t "
        "ON ok.g = t.g AND ok._order = t.hi"
    )
    con.execute("DROP TABLE t")
    con.execute(
        "CREATE OR REPLACE TABLE spells AS SELECT "
        + ", ".join(pick(c) for c in columns)
        + ", f._source_row, f.g FROM (SELECT * FROM ok WHERE _order = 1) f JOIN l USING (g)"
    )
    out.n_spells = con.execute("SELECT count(*) FROM spells").fetchone()[0]
    _copy(con, "SELECT * EXCLUDE (g) FROM spells ORDER BY _source_row", out.spells)
    con.execute(
        "CREATE OR REPLACE TABLE episode_map AS SELECT ok._source_row, s.spell_id, "
        "CAST(ok._order AS SMALLINT) AS episode FROM ok JOIN spells s USING (g)"
    )
    for name, path in also.items():
        target = folder / f"_spells_{name}.parquet"
        have = TABLES[name].column_names
        filled = [f"e.{c} AS {c}" for c in ("spell_id", "episode") if c in have]
        replace = f" REPLACE ({', '.join(filled)})" if filled else ""
        order = "a._source_row" + (", a.position" if "position" in have else "")
        _copy(
            con,
            f"SELECT a.*{replace} FROM read_parquet('{_quoted(path)}') a "
            f"JOIN episode_map e USING (_source_row) ORDER BY {order}",
            target,
        )
        out.also[name] = target
    return out


def _reject(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Write the episodes of groups that cannot form a spell (their own failures
    aside), with the field and reason, to ``path``.

    Over every group only fixed-size aggregates are used (counts, minima and maxima of
    numbers and of hashes), which DuckDB spills to disk beyond its memory cap; lists
    and text are gathered for the failing groups only, to word their reasons.
    """
    con.execute(
        """
        CREATE OR REPLACE TABLE repeated AS
        SELECT DISTINCT g FROM k WHERE NOT _bad AND g IS NOT NULL
        GROUP BY g, _order HAVING count(*) > 1
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TABLE grp AS
        SELECT g,
               min(_source_row) FILTER (WHERE _bad) AS bad_row,
               count(*) FILTER (WHERE NOT _bad) AS n,
               min(_order) FILTER (WHERE NOT _bad) AS lo,
               max(_order) FILTER (WHERE NOT _bad) AS hi
        FROM k WHERE g IS NOT NULL GROUP BY g
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TABLE conflicts AS
        SELECT g,
               min(method) <> max(method) AS methods,
               min(admitted) <> max(admitted) AS admissions,
               min(person) <> max(person) AS people
        FROM (SELECT g,  -- hashes: fixed-size states; NULL (not given) is no conflict
                     CASE WHEN admission_method IS NOT NULL THEN hash(admission_method) END
                       AS method,
                     CASE WHEN admitted_on IS NOT NULL THEN hash(admitted_on) END AS admitted,
                     CASE WHEN person_id IS NOT NULL THEN hash(person_id) END AS person
              FROM m)
        GROUP BY g
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TABLE verdict AS
        SELECT g,
          CASE
            WHEN bad_row IS NOT NULL THEN 'spell_id'
            WHEN r.g IS NOT NULL OR lo <> 1 OR hi <> n THEN 'episode_order'
            WHEN methods THEN 'admission_method'
            WHEN admissions THEN 'admitted_on'
            WHEN people THEN 'spell_id'
          END AS field,
          CASE
            WHEN bad_row IS NOT NULL THEN 'another episode of the spell was quarantined'
            WHEN r.g IS NOT NULL THEN 'episode order repeated in the spell'
            WHEN lo <> 1 OR hi <> n THEN 'episode order gap'
            WHEN methods THEN 'admission method differs between the spell''s episodes'
            WHEN admissions THEN 'admission date differs between the spell''s episodes'
            WHEN people THEN 'the spell''s episodes belong to different people'
          END AS kind,
          CASE WHEN bad_row IS NOT NULL THEN ' (row ' || bad_row || ')' ELSE '' END AS detail
        FROM grp LEFT JOIN conflicts USING (g) LEFT JOIN repeated r USING (g)
        """
    )
    # the words of the failing groups' reasons: their episode orders, their methods
    con.execute(
        """
        CREATE OR REPLACE TABLE orders AS
        SELECT g, list(_order ORDER BY _order) AS orders, max(_order) AS hi,
               count(DISTINCT _order) = count(*) AS distinct_orders
        FROM k WHERE NOT _bad AND g IN (SELECT g FROM verdict WHERE field = 'episode_order')
        GROUP BY g
        """
    )
    con.execute(
        """
        UPDATE verdict v SET detail = ': the spell has episodes ' || array_to_string(o.orders, ', ')
          || CASE WHEN o.distinct_orders THEN '; missing ' || array_to_string(
               list_filter(range(1, o.hi + 1), x -> NOT list_contains(o.orders, x)), ', ')
               || ' (an episode may be in another file)' ELSE '' END
        FROM orders o WHERE v.g = o.g
        """
    )
    con.execute(
        """
        UPDATE verdict v SET detail = ' (' || x.method_list || ')'
        FROM (SELECT g, string_agg(DISTINCT admission_method, ', ' ORDER BY admission_method)
                AS method_list
              FROM m WHERE g IN (SELECT g FROM verdict WHERE field = 'admission_method')
              GROUP BY g) x
        WHERE v.g = x.g
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TABLE rejected AS
        SELECT k._source_row, false AS _bad, v.field, v.kind || v.detail AS reason, v.kind
        FROM k JOIN verdict v USING (g)
        WHERE v.field IS NOT NULL AND NOT k._bad
        """
    )
    _copy(con, "SELECT * EXCLUDE (kind) FROM rejected ORDER BY _source_row", path)


def _rejected_counts(con: duckdb.DuckDBPyConnection) -> tuple[int, dict[str, int]]:
    rows = con.execute(
        "SELECT field || ': ' || kind, count(*) FROM rejected GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return sum(n for _, n in rows), dict(rows)


def _copy(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> None:
    con.execute(f"COPY ({query}) TO '{_quoted(path)}' (FORMAT parquet)")


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
