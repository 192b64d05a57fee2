"""Vectorised parsing of text columns to typed Arrow arrays.

Each parser takes a string array (``None`` for empty) and returns the typed array and
a boolean mask of values that were present but could not be parsed. Dates accept ISO
(``2024-03-31``), UK (``31/03/2024``, ``31-03-2024``) and compact (``20240331``)
forms, and times ``HH:MM[:SS]`` or ``HHMM[SS]``; impossible dates (31/02/2024) and
times (24:00, 4000) are rejected, never rolled over.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

# (regex with named groups y, m, d and optionally H, M, S)
_DATE_FORMS = (
    r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})",
    r"^(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{4})",
    r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})",
)
# HH:MM[:SS], or HHMM[SS] as HES writes times (ARRIVALTIME 1922)
_TIME = r"(?:[T ](?P<H>\d{1,2}):?(?P<M>\d{2})(?::?(?P<S>\d{2})(?:\.\d+)?)?)?"
_ZONE = r"(?:Z|[+-]\d{2}:?\d{2})?$"

TRUE = ("true", "t", "yes", "y", "1")
FALSE = ("false", "f", "no", "n", "0")


def blank_to_null(values: pa.Array) -> pa.Array:
    """Strip surrounding spaces; empty strings become null."""
    values = pc.utf8_trim_whitespace(values.cast(pa.string()))
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def _present(values: pa.Array) -> pa.Array:
    return pc.is_valid(values)


def _parse_parts(values: pa.Array, with_time: bool) -> tuple[pa.Array, pa.Array]:
    """ISO text 'YYYY-MM-DD[ HH:MM:SS]' for every recognised value, or null."""
    out = pa.nulls(len(values), pa.string())
    for form in _DATE_FORMS:
        pattern = form + (_TIME if with_time else "") + (_ZONE if with_time else "$")
        parts = pc.extract_regex(values, pattern)
        ok = pc.is_valid(parts)
        if not pc.any(ok).as_py():
            continue
        y = pc.struct_field(parts, "y")
        m = pc.utf8_lpad(pc.struct_field(parts, "m"), 2, "0")
        d = pc.utf8_lpad(pc.struct_field(parts, "d"), 2, "0")
        iso = pc.binary_join_element_wise(y, m, d, "-")
        if with_time:
            hh = pc.coalesce(pc.utf8_lpad(pc.struct_field(parts, "H"), 2, "0"), "00")
            mm = pc.coalesce(pc.struct_field(parts, "M"), "00")
            ss = pc.coalesce(pc.struct_field(parts, "S"), "00")
            # extract_regex gives "" for an unmatched optional group
            hh, mm, ss = (pc.if_else(pc.equal(x, ""), "00", x) for x in (hh, mm, ss))
            hh = pc.if_else(pc.equal(hh, "0"), "00", hh)
            iso = pc.binary_join_element_wise(
                iso, pc.binary_join_element_wise(hh, mm, ss, ":"), " "
            )
        out = pc.if_else(pc.and_(pc.is_null(out), ok), iso, out)
        if out.null_count == values.null_count:
            break  # every value read: no need to try the other forms
    return out, pc.is_valid(out)


_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _int_part(iso: pa.Array, start: int, length: int) -> pa.Array:
    return pc.cast(pc.utf8_slice_codeunits(iso, start, start + length), pa.int32())


def _real_date(iso: pa.Array) -> pa.Array:
    """Whether 'YYYY-MM-DD...' names a day that exists (31/02 does not; never rolled over).

    Proleptic Gregorian calendar, year 0 included (as strptime reads it).
    """
    safe = pc.fill_null(iso, "2000-01-01 00:00:00")
    y, m, d = _int_part(safe, 0, 4), _int_part(safe, 5, 2), _int_part(safe, 8, 2)
    leap = pc.and_(
        pc.equal(pc.bit_wise_and(y, 3), 0),
        pc.or_(pc.not_equal(pc.remainder(y, 100), 0), pc.equal(pc.remainder(y, 400), 0)),
    )
    month = pc.subtract(pc.max_element_wise(pc.min_element_wise(m, 12), 1), 1)
    days = pc.take(pa.array(_DAYS_IN_MONTH, pa.int32()), month)
    days = pc.if_else(pc.and_(pc.equal(m, 2), leap), 29, days)
    ok = pc.and_(pc.greater_equal(m, 1), pc.less_equal(m, 12))
    ok = pc.and_(ok, pc.and_(pc.greater_equal(d, 1), pc.less_equal(d, days)))
    return pc.and_(pc.is_valid(iso), ok)


def _real_time(iso: pa.Array) -> pa.Array:
    """Whether the 'HH:MM:SS' after the date is a time of day (no 24:00, no 12:60)."""
    safe = pc.fill_null(iso, "2000-01-01 00:00:00")
    h, m, s = _int_part(safe, 11, 2), _int_part(safe, 14, 2), _int_part(safe, 17, 2)
    return pc.and_(pc.and_(pc.less(h, 24), pc.less(m, 60)), pc.less(s, 60))


def parse_date(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Dates from ISO, UK or compact text: (date32 array, mask of unparseable values)."""
    values = blank_to_null(values)
    iso, _ = _parse_parts(values, with_time=False)
    # checking the parts is far faster than strptime followed by strftime
    real = pc.fill_null(_real_date(iso), False)
    dates = pc.cast(pc.if_else(real, iso, pa.scalar(None, pa.string())), pa.date32())
    bad = pc.and_(_present(values), pc.invert(real))
    return dates, bad


def parse_timestamp(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Date-times (a date alone means midnight); a time zone suffix is ignored."""
    values = blank_to_null(values)
    iso, _ = _parse_parts(values, with_time=True)
    real = pc.fill_null(pc.and_(_real_date(iso), _real_time(iso)), False)
    text = pc.if_else(real, iso, pa.scalar(None, pa.string()))
    stamps = pc.cast(pc.cast(text, pa.timestamp("s")), pa.timestamp("us"))
    bad = pc.and_(_present(values), pc.invert(real))
    return stamps, bad


def parse_int(values: pa.Array, arrow_type: pa.DataType) -> tuple[pa.Array, pa.Array]:
    """Whole numbers ("12", "+12", "12.0"); anything else, or out of the type's range, is bad."""
    values = blank_to_null(values)
    cleaned = pc.replace_substring_regex(values, r"\.0+$", "")
    ok = pc.fill_null(pc.match_substring_regex(cleaned, r"^[+-]?\d{1,18}$"), False)
    as_int = pc.cast(pc.if_else(ok, cleaned, pa.scalar(None, pa.string())), pa.int64())
    info = {pa.int16(): 2**15, pa.int32(): 2**31, pa.int64(): 2**63}[arrow_type]
    in_range = pc.fill_null(
        pc.and_(pc.greater_equal(as_int, -info), pc.less(as_int, info - 1)), False
    )
    good = pc.and_(ok, in_range)
    out = pc.if_else(good, as_int, pa.scalar(None, pa.int64())).cast(arrow_type)
    return out, pc.and_(_present(values), pc.invert(good))


def parse_float(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Decimal numbers; a leading pound sign and thousands commas are allowed."""
    values = blank_to_null(values)
    cleaned = pc.replace_substring_regex(values, r"^£|,", "")
    ok = pc.fill_null(
        pc.match_substring_regex(cleaned, r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"), False
    )
    out = pc.cast(pc.if_else(ok, cleaned, pa.scalar(None, pa.string())), pa.float64())
    return out, pc.and_(_present(values), pc.invert(ok))


def parse_bool(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """true/false, yes/no, y/n, 1/0 in any case."""
    values = blank_to_null(values)
    lower = pc.utf8_lower(values)
    is_true = pc.is_in(lower, pa.array(TRUE))
    is_false = pc.is_in(lower, pa.array(FALSE))
    out = pc.if_else(is_true, True, pc.if_else(is_false, False, pa.scalar(None, pa.bool_())))
    return out, pc.and_(_present(values), pc.invert(pc.or_(is_true, is_false)))


def parse(values: pa.Array, dtype: str, arrow_type: pa.DataType) -> tuple[pa.Array, pa.Array]:
    """Parse text to the schema's logical type: (typed array, mask of bad values)."""
    if dtype == "string":
        values = blank_to_null(values)
        return values, pc.fill_null(pc.is_null(pc.is_valid(values)), False)  # never bad
    if dtype == "date":
        return parse_date(values)
    if dtype == "timestamp":
        return parse_timestamp(values)
    if dtype.startswith("int"):
        return parse_int(values, arrow_type)
    if dtype == "float64":
        return parse_float(values)
    if dtype == "boolean":
        return parse_bool(values)
    raise ValueError(f"no parser for type {dtype}")


EXPECTED = {
    "date": "a date as dd/mm/yyyy or yyyy-mm-dd",
    "timestamp": "a date and time as yyyy-mm-dd hh:mm[:ss] or dd/mm/yyyy hh:mm",
    "int16": "a whole number",
    "int32": "a whole number",
    "int64": "a whole number",
    "float64": "a number",
    "boolean": "true/false, yes/no or 1/0",
}
