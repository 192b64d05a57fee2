"""Published figures: every number that leaves the warehouse, computed, annualised,
labelled, suppressed and kept in one place.

The web pages, the JSON API, the board pack and the command line ask
:class:`~joinedup.published.figures.Figures` for their numbers and only render what it
returns, so the same question never gets two answers::

    from joinedup.published import Figures

    with Figures("joinedup-data/warehouse.duckdb") as figures:
        figures.measure("emergency_admissions", by="practice")   # annualised, suppressed
        figures.headline()                                       # latest year, icons
        figures.practice_profile("Z10001").age_bands

:func:`~joinedup.published.publish.publish` computes every figure for a new state of
the data ahead of the first reader (``joinedup publish``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Figures", "NotFound"]


def __getattr__(name: str) -> Any:
    # Lazy, so that importing the package costs nothing until a figure is asked for.
    if name in __all__:
        from joinedup.published import figures

        return getattr(figures, name)
    raise AttributeError(f"module 'joinedup.published' has no attribute {name!r}")
