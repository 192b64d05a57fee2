"""Measures: declarative definitions, the engine that computes them, and their statistics.

The API most callers need: :func:`compute` (results with intervals, suppressed),
:func:`spc_for` (a Making Data Count chart frame), :func:`headline` (the headline
figures with their SPC icons), :func:`funnel_for` (a funnel plot across practices or
providers) and :func:`inequality_for` (SII, RII and the Core20 gap by IMD quintile).
They are imported on first use, so that reading the library (``load_library``) does
not pay for the statistics stack.
"""

from __future__ import annotations

from typing import Any

from joinedup.measures.definition import (
    MeasureDefinition,
    MeasureError,
    RegisterRequired,
    load_library,
)

_LAZY = {
    "HEADLINE_MEASURES": "results",
    "compute": "results",
    "finalise": "results",
    "headline": "results",
    "spc_for": "results",
    "inequality_for": "deprivation",
    "funnel_for": "variation",
}

__all__ = [
    "MeasureDefinition",
    "MeasureError",
    "RegisterRequired",
    "load_library",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"joinedup.measures.{_LAZY[name]}")

        return getattr(module, name)
    raise AttributeError(f"module 'joinedup.measures' has no attribute {name!r}")
