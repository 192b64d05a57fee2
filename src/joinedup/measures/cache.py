"""Cache of measure results, keyed by definition and data batches.

A measure's counts change only when its definition, the engine or the warehouse's data
change. The data are identified by the set of live load batches (table ``load_batch``,
status ``loaded``): loading or replacing a batch changes the set and so every key. Each
entry is one Parquet file per measure and period kind (holding every grouping computed
so far), named by the SHA-256 of (engine version, definition, period kind, variant - the
confidence levels and whether suppression is on - and batch ids), in a folder beside the
warehouse (``<warehouse>.measure-cache``) or in ``$JOINEDUP_MEASURE_CACHE``. Entries are
finished results (suppressed unless the caller turned suppression off); keep the folder
inside the warehouse's security boundary.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

import pandas as pd

from joinedup.measures.definition import MeasureDefinition
from joinedup.warehouse import Warehouse

#: Bump when the engine's counting changes, so old cache entries are not reused.
ENGINE_VERSION = "3"


def batch_ids(wh: Warehouse) -> list[str]:
    """Ids of the live (loaded, not replaced) batches of the warehouse, sorted."""
    t = wh.table("load_batch")
    rows = t.filter(t.status == "loaded").select("batch_id").to_pandas()
    return sorted(rows["batch_id"].astype(str))


def definition_hash(d: MeasureDefinition) -> str:
    """SHA-256 of a definition's content (any edit to the YAML changes it)."""
    text = json.dumps(d.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def default_cache_dir(wh: Warehouse) -> Path | None:
    """``$JOINEDUP_MEASURE_CACHE`` or ``<warehouse file>.measure-cache``; None in memory
    or on a backend other than DuckDB (see :func:`joinedup.settings.measure_cache_dir`)."""
    from joinedup.settings import measure_cache_dir

    on_disk = wh.location not in ("", ":memory:") and wh.backend_name == "duckdb"
    return measure_cache_dir(Path(wh.location) if on_disk else None)


class MeasureCache:
    """Finished results per (definition, period kind, variant) for one batch set."""

    def __init__(self, folder: Path | None, batches: list[str]) -> None:
        self.folder = folder
        self.batches = batches
        self.hits = 0
        self.misses = 0

    @classmethod
    def for_warehouse(cls, wh: Warehouse, folder: Path | bool | None = None) -> MeasureCache:
        """The cache of ``wh`` (``folder=False`` turns caching off)."""
        if folder is False:
            return cls(None, [])
        where = default_cache_dir(wh) if folder in (None, True) else Path(folder)
        return cls(where, batch_ids(wh) if where is not None else [])

    def key(self, d: MeasureDefinition, kind: str, variant: str = "") -> str:
        """The entry name for a measure, period kind and variant on this batch set."""
        text = json.dumps(
            [ENGINE_VERSION, definition_hash(d), kind, variant, self.batches], sort_keys=True
        )
        return hashlib.sha256(text.encode()).hexdigest()

    def _path(self, d: MeasureDefinition, kind: str, variant: str) -> Path:
        assert self.folder is not None
        return self.folder / f"{d.id}-{self.key(d, kind, variant)[:32]}.parquet"

    def get(self, d: MeasureDefinition, kind: str, variant: str = "") -> pd.DataFrame | None:
        """The cached results (every grouping computed so far), or None."""
        if self.folder is None:
            return None
        path = self._path(d, kind, variant)
        if not path.exists():
            self.misses += 1
            return None
        self.hits += 1
        frame = pd.read_parquet(path)
        for col in ("period_start", "period_end"):
            frame[col] = pd.to_datetime(frame[col]).dt.date
        return frame

    def put(self, d: MeasureDefinition, kind: str, frame: pd.DataFrame, variant: str = "") -> None:
        """Store counts (written to a temporary name, then renamed: never half a file)."""
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(d, kind, variant)
        tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
