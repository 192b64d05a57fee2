"""Person keys: NHS numbers, or the pseudonymised keys extracts carry instead.

Most analysts in a partnership never see an NHS number: national extracts come keyed
by a pseudonym (HES's ``PSEUDO_HESID``, SUS+'s ``Der_Pseudo_NHS_Number``, a data
service's ``Token_Person_ID``, a partner's own). A mapping names such a column as
``source_key`` with its *scheme*::

    source_key: {column: PSEUDO_HESID, scheme: hesid}

Every source key is re-keyed at the door with the partnership's key, exactly as NHS
numbers are (:func:`source_person_ids`: a keyed hash of ``scheme:value``), and never
stored as it came. The same key of the same scheme in any file gives the same
``person_id``; keys of different schemes, and NHS numbers, give different ones.

People keyed two ways link only where the partnership holds a *bridge*: pairs of NHS
number and source key (from the data service that issued the pseudonyms), loaded with
``joinedup keys bridge`` into :class:`KeyBridge`, which keeps pairs of person ids (no
NHS number, no source key). At ingest a bridged source key takes the person id of its
NHS number. Which scheme each batch is keyed by is recorded (``load_batch.person_key``),
so the load report and ``joinedup keys`` say plainly when files keyed differently
cannot be linked.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from joinedup.ingest.pseudonymise import PERSON_ID_HEX_CHARS, _hmac_hex

#: The canonical name a mapping gives a pseudonymised person key column.
SOURCE_KEY = "source_key"
#: The scheme of rows keyed by NHS number.
NHS_SCHEME = "nhs_number"
#: The key bridge's file name, beside the re-identification store.
BRIDGE_FILE = "key-bridge.duckdb"
#: What a scheme's name may be: it is part of every hashed key.
SCHEME_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def check_scheme(scheme: str) -> str:
    """``scheme`` if it is a valid scheme name, else ValueError saying what is allowed."""
    if not SCHEME_NAME.match(scheme) or scheme == NHS_SCHEME:
        raise ValueError(
            f"key scheme {scheme!r}: use 2-40 lower-case letters, digits or '_', starting "
            f"with a letter (and not {NHS_SCHEME!r})"
        )
    return scheme


def normalise_keys(values: pa.Array) -> pa.Array:
    """Source keys as text with surrounding spaces removed (case kept: pseudonyms are
    case-sensitive); blank becomes null."""
    text = pc.utf8_trim_whitespace(values.cast(pa.string()))
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def source_person_ids(keys: pa.Array, scheme: str, key: bytes) -> pa.Array:
    """The person ids of source keys of ``scheme`` (null stays null): the partnership's
    keyed hash (HMAC-SHA256) of ``scheme:value``, hashing each distinct key once."""
    keys = normalise_keys(keys)
    unique = pc.unique(keys.drop_null())
    ids = _hmac_hex(key, [f"{scheme}:{k}" for k in unique.to_pylist()])
    return pc.take(pa.array(ids, pa.string()), pc.index_in(keys, unique))


def source_person_id(value: str, scheme: str, key: bytes) -> str:
    """One source key's person id (:func:`source_person_ids` of one value)."""
    import hmac

    text = f"{scheme}:{str(value).strip()}"
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:PERSON_ID_HEX_CHARS]


def bridge_beside(reid_store: Path) -> KeyBridge:
    """The key bridge kept beside the re-identification store at ``reid_store``."""
    return KeyBridge(Path(reid_store).parent / BRIDGE_FILE)


class KeyBridge:
    """Pairs (scheme, source person id) -> person id of the NHS number, kept beside the
    re-identification store (it links pseudonyms, so it is as restricted).

    Holds no NHS number and no source key: only the ids both hash to.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _connect(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.path), read_only=read_only)
        if not read_only:
            con.execute(
                "CREATE TABLE IF NOT EXISTS bridge (scheme VARCHAR NOT NULL, "
                "source_id VARCHAR NOT NULL, person_id VARCHAR NOT NULL, "
                "PRIMARY KEY (scheme, source_id))"
            )
        return con

    def add(self, scheme: str, source_ids: pa.Array, person_ids: pa.Array) -> int:
        """Keep the pairs (a source id already bridged keeps its first person id);
        returns how many pairs are new."""
        pairs = pa.table({"source_id": source_ids, "person_id": person_ids}).filter(
            pc.and_(pc.is_valid(source_ids), pc.is_valid(person_ids))
        )
        with self._connect(read_only=False) as con:
            con.register("_pairs", pairs)
            before = con.execute("SELECT count(*) FROM bridge").fetchone()[0]
            con.execute(
                "INSERT INTO bridge SELECT DISTINCT ON (source_id) ?, source_id, person_id "
                "FROM _pairs ORDER BY source_id ON CONFLICT DO NOTHING",
                [scheme],
            )
            return con.execute("SELECT count(*) FROM bridge").fetchone()[0] - before

    def lookup(self, scheme: str, source_ids: pa.Array) -> pa.Array:
        """The bridged person id of each source id (null where there is none)."""
        if not self.path.exists() or len(source_ids) == 0:
            return pa.nulls(len(source_ids), pa.string())
        with self._connect(read_only=True) as con:
            wanted = pa.table({"source_id": source_ids, "_i": pa.array(range(len(source_ids)))})
            con.register("_wanted", wanted)
            found = con.execute(
                "SELECT w._i, b.person_id FROM _wanted w JOIN bridge b "
                "ON b.scheme = ? AND b.source_id = w.source_id",
                [scheme],
            ).fetch_arrow_table()
        out = [None] * len(source_ids)
        for i, pid in zip(found["_i"].to_pylist(), found["person_id"].to_pylist(), strict=True):
            out[i] = pid
        return pa.array(out, pa.string())

    def schemes(self) -> dict[str, int]:
        """How many source keys of each scheme the bridge links."""
        if not self.path.exists():
            return {}
        with self._connect(read_only=True) as con:
            rows = con.execute("SELECT scheme, count(*) FROM bridge GROUP BY 1 ORDER BY 1")
            return dict(rows.fetchall())


def bridged(ids: pa.Array, scheme: str, bridge: KeyBridge | None) -> tuple[pa.Array, int]:
    """``ids`` (source person ids of ``scheme``) with each bridged one replaced by the
    person id of its NHS number; and how many were bridged."""
    if bridge is None:
        return ids, 0
    found = bridge.lookup(scheme, ids)
    hits = int(pc.sum(pc.is_valid(found)).as_py() or 0)
    return pc.if_else(pc.is_valid(found), found, ids), hits


#: Column names a bridge file's NHS number column may have (any case).
BRIDGE_NHS_COLUMNS = ("nhs_number", "nhsno", "newnhsno", "nhs_no", "nhsnumber")


#: The subfolder of an extract folder that holds key bridges, one ``<scheme>.csv`` each.
BRIDGES = "bridges"


def bridge_files(paths: list[Path]) -> list[Path]:
    """The key bridges kept with extract folders: ``<folder>/bridges/<scheme>.csv``, which
    an ingest of the folder loads before its extracts."""
    return [f for p in paths if p.is_dir() for f in sorted((p / BRIDGES).glob("*.csv"))]


def load_bridge(
    path: Path,
    scheme: str,
    key: bytes,
    bridge: KeyBridge,
    *,
    nhs_column: str | None = None,
    key_column: str | None = None,
) -> dict:
    """Add a bridge file's pairs (a CSV of NHS number and source key of ``scheme``) to
    ``bridge``, both re-keyed with ``key``: nothing is kept as it came.

    The NHS number column is ``nhs_column`` or the one named like an NHS number; the
    key column is ``key_column`` or the only other one. Rows with an invalid NHS
    number or a blank key are not used; the result counts them and names the first
    rows (1 = first data row). Raises IngestError for a file it cannot use.
    """
    from pyarrow import csv as pacsv

    from joinedup.ingest.errors import IngestError
    from joinedup.ingest.pseudonymise import check_nhs_numbers, person_ids_of_valid

    check_scheme(scheme)
    path = Path(path)
    if not path.is_file():
        raise IngestError(path, "no such file")
    try:
        names = pacsv.open_csv(path).schema.names
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestError(path, f"cannot read the file as CSV ({exc})") from None
    by_lower = {n.strip().lower(): n for n in names}
    nhs = by_lower.get(nhs_column.lower()) if nhs_column else None
    if nhs is None:
        nhs = next((by_lower[c] for c in BRIDGE_NHS_COLUMNS if c in by_lower), None)
    if nhs is None:
        raise IngestError(
            path, f"no NHS number column (expected one of {', '.join(BRIDGE_NHS_COLUMNS)}, "
            "or give --nhs-column)"
        )  # fmt: skip
    others = [n for n in names if n != nhs]
    source = by_lower.get(key_column.lower()) if key_column else None
    if source is None and not key_column and len(others) == 1:
        source = others[0]
    if source is None:
        raise IngestError(
            path, f"which column holds the {scheme} key? found {', '.join(others)}; "
            "give --key-column"
        )  # fmt: skip
    table = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            column_types={nhs: pa.string(), source: pa.string()},
            include_columns=[nhs, source],
            strings_can_be_null=True,
        ),
    )
    numbers, valid = check_nhs_numbers(table[nhs].combine_chunks())
    keys = normalise_keys(table[source].combine_chunks())
    usable = pc.and_(pc.fill_null(valid, False), pc.is_valid(keys))
    unused = [i + 1 for i, ok in enumerate(usable.to_pylist()) if not ok]
    person_ids = person_ids_of_valid(pc.if_else(usable, numbers, None), key)
    source_ids = source_person_ids(pc.if_else(usable, keys, None), scheme, key)
    added = bridge.add(scheme, source_ids, person_ids)
    return {
        "rows": table.num_rows,
        "pairs_added": added,
        "rows_unused": len(unused),
        "first_unused_rows": unused[:10],
        "nhs_column": nhs,
        "key_column": source,
    }


def key_status(
    warehouse: Path, key_file: Path | None = None, reid_store: Path | None = None
) -> tuple[list[dict], list[str]]:
    """How the warehouse's live person-level batches are keyed: one row per (key,
    table) with batches, rows and bridged keys; and notes saying what cannot link."""
    from joinedup.ingest.pseudonymise import reid_store_path
    from joinedup.schema import TABLES
    from joinedup.warehouse import open_warehouse

    with open_warehouse(warehouse, read_only=True) as wh:
        df = wh.batches()
    if "person_key" not in df.columns:
        df["person_key"] = None
    df = df[(df.status == "loaded") & df.table_name.map(lambda t: TABLES[t].person_level)]
    df = df.assign(person_key=df.person_key.fillna("not recorded"))
    bridged = bridge_beside(reid_store_path(key_file, reid_store)).schemes()
    rows = []
    for (scheme, table), g in df.groupby(["person_key", "table_name"], sort=True):
        rows.append(
            {
                "person_key": scheme,
                "table": table,
                "batches": len(g),
                "rows": int(g.rows_accepted.sum()),
                "bridged": "" if scheme in (NHS_SCHEME, "not recorded") else
                f"{bridged.get(scheme, 0):,}",
            }
        )  # fmt: skip
    schemes = sorted(set(df.person_key) - {NHS_SCHEME, "not recorded"})
    notes = []
    for scheme in schemes:
        tables = ", ".join(sorted(set(df.table_name[df.person_key == scheme])))
        if scheme in bridged:
            notes.append(
                f"{scheme}: {tables} link to NHS-number-keyed records where the bridge "
                f"holds the key ({bridged[scheme]:,} keys); the rest only to each other"
            )
        elif len(set(df.person_key)) > 1:
            notes.append(
                f"{scheme}: {tables} cannot link to records keyed by NHS number or another "
                f"scheme: load a bridge (joinedup keys bridge FILE --scheme {scheme})"
            )
    return rows, notes
