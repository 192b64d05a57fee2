"""Scenarios as the app shows them: the library, runs and their comparison and charts.

Calls the scenarios capability's Python API (``joinedup.scenarios.api``); results of a
run are kept in memory (the last :data:`KEEP` runs) and shown at their own address.
Scenario outputs are modelled activity, beds, workforce and money, not counts of people.
"""

from __future__ import annotations

import base64
import secrets
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

KEEP = 20
#: The charts shown per scenario: file-name suffix -> caption.
CHARTS = {
    "fan_bed_days": "Bed days: baseline and with the scenario (fan of the Monte Carlo runs)",
    "fan_net_benefit": "Net benefit per year (fan)",
    "tornado_npv": "What drives the net present value (one-way sensitivity)",
}


class ScenariosUnavailable(RuntimeError):
    """The scenarios capability is not installed."""


def library() -> list[dict[str, str]]:
    """Built-in scenarios: name, title, description."""
    try:
        from joinedup.scenarios.model import library_names, load_scenario
    except ImportError as exc:
        raise ScenariosUnavailable(f"the scenarios capability is not available: {exc}") from exc
    out = []
    for name in library_names():
        sc = load_scenario(name)
        out.append({"name": name, "title": sc.title or name, "description": sc.description})
    return out


class ScenarioRuns:
    """Runs made in this app, newest kept, by a random id."""

    def __init__(self) -> None:
        self._runs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def run(self, warehouse: Path, names: list[str], runs: int, user: str) -> str:
        """Run ``names`` (built-in scenarios) with ``runs`` draws; return the run id."""
        from joinedup.scenarios.api import comparison_table, run_scenarios

        known = {s["name"] for s in library()}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise KeyError(f"no built-in scenario called {', '.join(map(repr, unknown))}")
        results = run_scenarios(names, warehouse, runs=runs, seed=42)
        table = comparison_table(results)
        charts: dict[str, list[tuple[str, str]]] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for name, r in results.items():
                paths = {p.stem: p for p in r.charts(Path(tmp) / name, formats=("svg",))}
                charts[name] = [
                    (caption, _data_uri(paths[f"{name}_{suffix}"]))
                    for suffix, caption in CHARTS.items()
                    if f"{name}_{suffix}" in paths
                ]
        record = {
            "scenarios": names,
            "runs": runs,
            "by": user,
            "comparison": table.astype(object).where(table.notna(), None).to_dict("records"),
            "charts": charts,
        }
        run_id = secrets.token_urlsafe(9)
        with self._lock:
            self._runs[run_id] = record
            while len(self._runs) > KEEP:
                self._runs.popitem(last=False)
        return run_id

    def get(self, run_id: str) -> dict[str, Any] | None:
        """A run's record, or None if unknown (or dropped)."""
        with self._lock:
            return self._runs.get(run_id)


def _data_uri(path: Path) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(path.read_bytes()).decode()
