"""Ingest: validate partner extracts, pseudonymise at the door, load all-or-nothing.

The Python API is :func:`ingest` (the same as `joinedup ingest`)::

    from joinedup.ingest import ingest
    reports = ingest(["apc.csv"], mapping="hes_apc", warehouse="warehouse.duckdb")
"""

from joinedup.ingest.errors import IngestError
from joinedup.ingest.pipeline import FileReport, ingest

__all__ = ["FileReport", "IngestError", "ingest"]
