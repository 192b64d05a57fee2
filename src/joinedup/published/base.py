"""The plumbing every published figure goes through: computed once, kept, locked.

:class:`Base` is what the topic mixins of :class:`~joinedup.published.figures.Figures`
share: the open warehouse, the measure library, the store of figures and one lock.
:meth:`Base.figure` keeps an aggregate for the state of the data (in memory, and on disk
when asked); :meth:`Base.person_level` keeps a person-level read in memory only (never
in the figures store: the interfaces decide who may see it, and audit each read).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from joinedup.measures.definition import MeasureDefinition
from joinedup.published.store import FigureStore
from joinedup.warehouse import Warehouse


class NotFound(LookupError):
    """Something asked for (a measure, a practice, a unit) does not exist."""


class Base:
    """What the topic mixins of ``Figures`` share (set by ``Figures.__init__``)."""

    wh: Warehouse
    warehouse_path: Path | None
    risk_model_path: Path
    library: dict[str, MeasureDefinition]
    store: FigureStore
    _lock: threading.RLock
    _people: dict[str, Any]
    _measure_cache: Path | bool | None

    def figure(self, key: str, fn: Callable[..., Any], *args: Any, persist: bool = False) -> Any:
        """The published figure ``key``: ``fn(*args)`` run once under the warehouse lock
        and kept for this state of the data (on disk too when ``persist``)."""
        try:
            return self.store.peek(key)
        except KeyError:
            pass
        with self._lock:
            return self.store.get(key, lambda: fn(*args), persist)

    def person_level(self, key: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(self.wh, *args, **kwargs)``: a person-level read, run once under the
        warehouse lock and kept in memory only (never in the figures store). The caller
        decides who may see it and audits the read."""
        with self._lock:
            if key not in self._people:
                self._people[key] = fn(self.wh, *args, **kwargs)
            return self._people[key]


def number(value: Any) -> float | None:
    """A float, or None for a missing (suppressed or undefined) figure."""
    import pandas as pd

    return None if value is None or pd.isna(value) else float(value)
