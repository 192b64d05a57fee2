"""Scratch folders for a load's spilled rows, and sweeping up after a killed load.

A load spills validated rows, keys and new re-identification entries (NHS numbers among
them) to a temporary folder, removed when the load ends. A load killed outright
(``kill -9``, the machine's out-of-memory killer) cannot remove it, so each folder
records the process that owns it, and every new load first removes the folders of
processes that no longer run: identifiable rows never outlive the next load.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

#: Prefixes of the scratch folders loads make in the system's temporary folder.
PREFIXES = ("joinedup-ingest-", "joinedup-check-", "joinedup-fhir-")
#: The file in a scratch folder naming the process that owns it.
OWNER = "owner.pid"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: running
        return True
    return True


def sweep(root: Path | None = None) -> list[Path]:
    """Remove the scratch folders (in ``root``, default the system's temporary folder) of
    loads whose process no longer runs; returns those removed. Folders without an owner
    file, or owned by another user, are left alone."""
    root = Path(root or tempfile.gettempdir())
    removed = []
    for prefix in PREFIXES:
        for folder in root.glob(prefix + "*"):
            owner = folder / OWNER
            try:
                if folder.stat().st_uid != os.getuid():
                    continue
                pid = int(owner.read_text().strip())
            except (OSError, ValueError):
                continue
            if not _running(pid):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


@contextlib.contextmanager
def scratch_folder(prefix: str) -> Iterator[Path]:
    """A temporary folder owned by this process (removed on exit), after sweeping away
    those of killed loads (:func:`sweep`)."""
    sweep()
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        (folder / OWNER).write_text(f"{os.getpid()}\n")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
