"""Errors of ingest that stop a whole file (row problems go to quarantine instead)."""

from __future__ import annotations

from pathlib import Path


class IngestError(Exception):
    """A whole-file problem: nothing from the file is written.

    The message names the file and what was expected, on one line.
    """

    def __init__(self, path: Path | str | None, problem: str) -> None:
        self.path = None if path is None else str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path is not None else problem)
