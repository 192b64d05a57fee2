"""Where published figures are kept: in memory, and on disk for the next process.

A figure is computed once for a *state* of the data: the warehouse's live load batches,
the trained risk model and the measure library, with the versions of the code that
computes from them (:func:`state_of`). Loading a batch, retraining the model, editing a
measure or upgrading joinedup changes the state, and with it every key, so nothing
stale is ever served. On disk each state has its own folder beside the
warehouse (``<warehouse>.published/<state>/``, or ``$JOINEDUP_FIGURES_CACHE``): one
pickle per figure, written to a temporary name and renamed, so a reader never sees
half a file and several processes (web workers, the command line, the board pack)
share the work. The folder holds only suppressed aggregates and sits inside the
warehouse's security boundary, like the measure cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Bump when what a published figure holds changes, so old files are not reused.
FIGURES_VERSION = "2"


def state_of(batches: list[str], model_fingerprint: str, library_hash: str) -> str:
    """The key of one state of the data and the code computing from it (a short
    SHA-256): the live batches, the risk model, the measure library, this package's
    version, the measure engine's and the figures' own."""
    from joinedup import __version__
    from joinedup.measures.cache import ENGINE_VERSION

    text = json.dumps(
        [FIGURES_VERSION, ENGINE_VERSION, __version__, sorted(batches), model_fingerprint,
         library_hash]
    )  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def file_fingerprint(folder: Path, names: tuple[str, ...]) -> str:
    """SHA-256 of the named files of ``folder`` ('' when none exists)."""
    digest = hashlib.sha256()
    found = False
    for name in names:
        path = Path(folder) / name
        if path.is_file():
            found = True
            digest.update(name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest() if found else ""


class FigureStore:
    """Figures of one state: a dict in memory, pickles on disk (when ``folder`` is set).

    Not thread-safe on its own: :class:`joinedup.published.figures.Figures` calls
    :meth:`get` under its lock, and :meth:`peek` (memory only) without one.
    """

    def __init__(self, folder: Path | None, state: str) -> None:
        self.state = state
        self.folder = None if folder is None else Path(folder) / state
        self._memory: dict[str, Any] = {}
        #: Kept figures (``persist``) computed here, and read from disk instead.
        self.computed = 0
        self.loaded = 0

    def _path(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".pkl")

    def __contains__(self, key: str) -> bool:
        return key in self._memory

    def put(self, key: str, value: Any) -> None:
        """Keep ``value`` as the figure ``key`` (in memory)."""
        self._memory[key] = value

    def peek(self, key: str) -> Any:
        """The figure ``key`` if it is in memory; KeyError otherwise."""
        return self._memory[key]

    def get(self, key: str, compute: Callable[[], Any], persist: bool = False) -> Any:
        """The figure called ``key``: from memory, else from disk (``persist``), else
        ``compute()`` (then kept, and written to disk when ``persist``)."""
        if key in self._memory:
            return self._memory[key]
        value = self._read(key) if persist else None
        if value is None:
            value = compute()
            if persist:
                self.computed += 1
                self._write(key, value)
        else:
            self.loaded += 1
        self._memory[key] = value
        return value

    def _read(self, key: str) -> Any:
        if self.folder is None:
            return None
        path = self._path(key)
        try:
            with open(path, "rb") as f:
                stored_key, value = pickle.load(f)
        except (FileNotFoundError, EOFError, pickle.UnpicklingError):
            return None
        return value if stored_key == key else None

    def _write(self, key: str, value: Any) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(key)
        tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        with open(tmp, "wb") as f:
            pickle.dump((key, value), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)

    def prune(self) -> int:
        """Delete the folders of other states beside this one; returns how many."""
        if self.folder is None or not self.folder.parent.is_dir():
            return 0
        gone = 0
        for other in self.folder.parent.iterdir():
            if other.is_dir() and other != self.folder:
                shutil.rmtree(other, ignore_errors=True)
                gone += 1
        return gone
