"""Comorbidity and frailty scores from coded ICD-10 diagnoses, as Ibis expressions.

The same expression (``score_expression``) scores a pandas frame on an in-memory DuckDB
(``score_diagnoses``) and the warehouse's admitted patient care diagnoses
(``person_scores``), so the rules live in one place and run inside the engine. Code lists,
hierarchies and weights are data: see ``joinedup/risk/codelists/*.yaml`` and docs/risk.md.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import pandas as pd

from joinedup.risk.definitions import SCORES, ScoreDefinition, score_definition

if TYPE_CHECKING:
    from joinedup.warehouse.base import Warehouse

__all__ = [
    "SCORES",
    "normalise_codes",
    "person_scores",
    "score_diagnoses",
    "score_expression",
]

BANDS = ("low", "intermediate", "high")


def normalise_codes(code: ir.StringValue) -> ir.StringValue:
    """Upper case with everything but letters and digits removed ("i50.0 " -> "I500")."""
    return code.upper().re_replace(r"[^A-Z0-9]", "")


# Categories are packed as bits of int64 masks, BITS per mask, so one BIT_OR per mask
# aggregates a person's categories (HFRS: 109 groups in two masks) instead of one
# conditional aggregate per category: several times faster on millions of rows.
BITS = 62


def _mask_bits(names: list[str]) -> dict[str, tuple[int, int]]:
    """Category -> (mask number, bit value)."""
    return {n: (i // BITS, 1 << (i % BITS)) for i, n in enumerate(names)}


def _code_masks(codes: ir.Table, definition: ScoreDefinition) -> ir.Table:
    """Per distinct code as written (``raw``) that any category matches: its category masks.

    Codes are normalised here, once per distinct code rather than once per row. A prefix of
    3 characters matches the code's first 3, a prefix of 4 its first 4: two equi-joins
    against the prefix table. A code may fall in several categories (I42.6: heart failure
    and alcohol abuse), so its bits are OR-ed together.
    """
    bits = _mask_bits(definition.category_names)
    prefixes = ibis.memtable(
        pd.DataFrame(
            [(p, bits[c][0], bits[c][1]) for c, p in definition.prefix_rows()],
            columns=["prefix", "mask", "bit"],
        )
    )
    clean = codes.select("raw", code=normalise_codes(codes.raw))
    clean = clean.filter(clean.code.length() >= 3)
    keyed = clean.select("raw", key=clean.code.substr(0, 3)).union(
        clean.filter(clean.code.length() >= 4).select("raw", key=clean.code.substr(0, 4)),
        distinct=False,
    )
    hits = keyed.join(prefixes, keyed.key == prefixes.prefix).select("raw", "mask", "bit")
    hits = hits.distinct()
    n_masks = 1 + max(m for m, _ in bits.values())
    return hits.group_by("raw").aggregate(
        **{
            f"_m{k}": (hits.mask == k).ifelse(hits.bit, ibis.literal(0, "int64")).sum()
            for k in range(n_masks)
        }
    )


def score_expression(
    diagnoses: ir.Table, score: str, id_column: str = "id", code_column: str = "code"
) -> ir.Table:
    """Score every id of ``diagnoses`` (one row per id and ICD-10 code).

    Returns an Ibis table with ``id_column``, ``score``, one boolean column per category
    (after the hierarchy rules) and, for ``hfrs``, ``band``. Ids whose codes match no
    category score 0 with every category False.
    """
    definition = score_definition(score)
    names = definition.category_names
    bits = _mask_bits(names)
    if not diagnoses[code_column].type().is_string():
        diagnoses = diagnoses.mutate(**{code_column: diagnoses[code_column].cast("string")})
    # Both uses below read the input directly: a derived table used twice would be
    # materialised by the engine (a copy of millions of rows).
    masks = _code_masks(diagnoses.select(raw=diagnoses[code_column]).distinct(), definition)
    mask_columns = [c for c in masks.columns if c != "raw"]
    # One pass: every row keeps its id (unmatched codes get null masks), so ids with no
    # listed code still get a row; BIT_OR gathers each person's categories.
    tagged = diagnoses.left_join(masks, diagnoses[code_column] == masks.raw)
    per_id = tagged.group_by(_id=tagged[id_column]).aggregate(
        **{m: tagged[m].bit_or().fill_null(0) for m in mask_columns}
    )
    per_id = per_id.filter(per_id._id.notnull())
    present = {n: (per_id[f"_m{k}"] & bit) != 0 for n, (k, bit) in bits.items()}
    # Hierarchy: the less severe category is dropped when the more severe one is present.
    # Applied from the unmodified flags, so rules never chain.
    counted = dict(present)
    for more, less in definition.hierarchy:
        counted[less] = counted[less] & ~present[more]
    # Points in tenths as integers, so HFRS sums are exact (7.1 + 0.2 is 7.3, not 7.299...).
    tenths = {n: round(w * 10) for n, w in definition.weights.items()}
    terms = [counted[n].cast("int64") * tenths[n] for n in names if tenths[n]]
    total = _balanced_sum(terms)
    is_integer = all(t % 10 == 0 for t in tenths.values())
    score_value = (total // 10) if is_integer else (total.cast("float64") / 10).round(1)
    columns: dict[str, ir.Value] = {id_column: per_id._id, "score": score_value}
    if definition.bands is not None:
        intermediate_from, high_above = definition.bands
        columns["band"] = ibis.cases(
            (score_value < intermediate_from, BANDS[0]),
            (score_value <= high_above, BANDS[1]),
            else_=BANDS[2],
        )
    columns.update(counted)
    return per_id.select(**columns)


def _balanced_sum(terms: list[ir.IntegerValue]) -> ir.IntegerValue:
    """Sum as a balanced tree: a 109-term chain is needlessly deep for Ibis to compile."""
    if not terms:
        return ibis.literal(0, "int64")
    while len(terms) > 1:
        pairs = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)]
        terms = pairs + terms[len(pairs) * 2 :]
    return terms[0]


def score_diagnoses(
    table: pd.DataFrame, score: str, id_column: str = "id", code_column: str = "code"
) -> pd.DataFrame:
    """Score a pandas frame of (id, ICD-10 code) rows: one row per id, sorted by id.

    Codes may carry the dot or not, be 3 or 4 characters (longer codes match on their
    first 3 or 4), any case, with surrounding white space. ``score`` is one of
    "charlson", "charlson_quan2011", "elixhauser_vw", "hfrs". The result has ``id_column``,
    ``score``, one boolean column per category (HFRS: one per code group, e.g. ``F00``),
    and for HFRS the ``band`` (low < 5, intermediate 5-15, high > 15). Computed with Ibis
    on an in-memory DuckDB: the same expression ``person_scores`` runs on the warehouse.
    """
    if score not in SCORES:
        raise ValueError(f"unknown score {score!r}; expected one of: {', '.join(SCORES)}")
    missing = [c for c in (id_column, code_column) if c not in table.columns]
    if missing:
        raise KeyError(
            f"diagnoses table has no column {', '.join(map(repr, missing))}; "
            f"expected an id column {id_column!r} and an ICD-10 code column {code_column!r} "
            f"(found: {', '.join(map(str, table.columns))})"
        )
    frame = table[[id_column, code_column]].rename(columns={id_column: "id", code_column: "code"})
    frame["code"] = frame["code"].astype("string")
    con = ibis.duckdb.connect()
    try:
        # A zero-row frame carries no types; give the code column one explicitly.
        t = con.create_table("diagnoses", frame, overwrite=True)
        result = con.to_pandas(score_expression(t, score, "id", "code").order_by("id"))
    finally:
        con.disconnect()
    result = result.rename(columns={"id": id_column}).reset_index(drop=True)
    for name in score_definition(score).category_names:
        result[name] = result[name].astype(bool)
    return result


def lookback_start(as_of: date, years: int) -> date:
    """The first day of a look-back of ``years`` whole years ending the day before ``as_of``
    (29 February falls back to 28 February)."""
    try:
        return as_of.replace(year=as_of.year - years)
    except ValueError:
        return as_of.replace(year=as_of.year - years, day=28)


def admitted_diagnoses(warehouse: Warehouse, as_of: date, lookback_years: int = 2) -> ir.Table:
    """(person_id, icd10) of every diagnosis of a spell admitted in [as_of - years, as_of)."""
    if lookback_years < 1:
        raise ValueError(
            f"lookback_years must be a whole number of years >= 1, got {lookback_years}"
        )
    spell = warehouse.table("apc_spell")
    diagnosis = warehouse.table("apc_diagnosis")
    start = lookback_start(as_of, lookback_years)
    window = spell.filter(
        (spell.admitted_on >= ibis.literal(start)) & (spell.admitted_on < ibis.literal(as_of))
    ).select("spell_id", "person_id")
    return window.join(diagnosis, "spell_id").select("person_id", "icd10")


def default_as_of(warehouse: Warehouse) -> date:
    """The day after the latest admission in the warehouse (so the window ends with the data)."""
    latest = warehouse.table("apc_spell").admitted_on.max().execute()
    if latest is None or pd.isna(latest):
        raise ValueError("apc_spell is empty: load admitted patient care data first")
    return pd.Timestamp(latest).date() + timedelta(days=1)


def person_scores(
    warehouse: Warehouse, score: str, as_of: date | None = None, lookback_years: int = 2
) -> ir.Table:
    """Score every person with an admission in the look-back window, inside the warehouse.

    Diagnoses come from ``apc_diagnosis`` (all positions) of the ``apc_spell`` rows admitted
    on or after ``as_of`` minus ``lookback_years`` and before ``as_of`` (default: the day
    after the latest admission). Returns an Ibis expression with ``person_id``, ``score``,
    the category columns and (HFRS) ``band``; people with no admission in the window are
    absent (their score is 0).
    """
    as_of = as_of or default_as_of(warehouse)
    diagnoses = admitted_diagnoses(warehouse, as_of, lookback_years)
    return score_expression(diagnoses, score, "person_id", "icd10")
