"""Publishing: every figure computed ahead of its first reader, and written out as files.

:func:`publish` asks :class:`~joinedup.published.figures.Figures` for every figure the
pages, the API and the board pack show, so that after a refresh of the warehouse the
first visitor reads them from the store instead of waiting for them to be computed.
:func:`export` writes them as CSV and JSON files: the same warehouse and code give the
same bytes, run after run (checked by the tests).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from joinedup.published.figures import HEADLINE_MEASURES, Figures

#: Units of comparison the opportunity view offers.
OPPORTUNITY_UNITS = ("practice", "footprint")


def steps(figures: Figures) -> list[tuple[str, Callable[[], Any]]]:
    """The publishing steps in order: (what, callable). Each step asks for figures and
    keeps them; later steps reuse what earlier ones computed."""
    lib = figures.library
    imd = [m for m, d in lib.items() if "imd_quintile" in d.groupings]
    practices = list(figures.practices()["practice_code"])
    out: list[tuple[str, Callable[[], Any]]] = [
        ("every measure by every grouping, own periods", lambda: figures.prefetch()),
        (
            "every measure by every grouping, financial years",
            lambda: figures.prefetch(period="financial_year"),
        ),
        ("headline measures and SPC icons", lambda: figures.headline(HEADLINE_MEASURES)),
        ("inequality by deprivation", lambda: [figures.inequality(m) for m in imd]),
        ("population and pyramid", lambda: (figures.population(), figures.pyramid())),
        ("segments, tiers and risk", lambda: figures.segments("segment")),
        ("opportunity", lambda: [_opportunity(figures, by) for by in OPPORTUNITY_UNITS]),
        (
            f"profiles of {len(practices)} practices",
            lambda: [figures.practice_profile(p) for p in practices],
        ),
        ("the partnership plan scenario", figures.plan_scenario),
        ("the board pack's measure data", figures.measure_data),
    ]
    return out


def _opportunity(figures: Figures, by: str) -> None:
    for m in figures.opportunity_table(by)["measure_id"]:
        figures.opportunity_units(m, by)


def publish(figures: Figures, progress: Callable[[str], None] | None = None) -> None:
    """Compute (or load) every published figure; ``progress`` is told each step."""
    for label, step in steps(figures):
        if progress is not None:
            progress(label)
        step()


def _csv(frame: pd.DataFrame, path: Path) -> None:
    path.write_text(frame.to_csv(index=False, lineterminator="\n"), encoding="utf-8")


def _json(value: Any, path: Path) -> None:
    path.write_text(
        json.dumps(value, indent=1, sort_keys=True, default=_plain) + "\n", encoding="utf-8"
    )


def _plain(value: Any) -> Any:
    """JSON for what the standard encoder does not know: frames, dates, numpy numbers."""
    if isinstance(value, pd.DataFrame):
        return json.loads(value.to_json(orient="records", date_format="iso", double_precision=15))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    if value is pd.NA:
        return None
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def export(figures: Figures, folder: Path) -> list[Path]:
    """Write every published figure into ``folder`` (CSV for tables, JSON for the rest);
    returns the files written. Run :func:`publish` first, or figures are computed here."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def csv(frame: pd.DataFrame | None, name: str) -> None:
        if frame is not None:
            _csv(frame, folder / name)
            written.append(folder / name)

    def js(value: Any, name: str) -> None:
        _json(value, folder / name)
        written.append(folder / name)

    lib = figures.library
    for kind in ("own", "financial_year"):
        parts = [
            figures.measure(m, g, None if kind == "own" else kind)
            for m, d in lib.items()
            for g in d.groupings
        ]
        csv(pd.concat([p for p in parts if len(p)], ignore_index=True), f"measures-{kind}.csv")
    csv(figures.headline(HEADLINE_MEASURES), "headline.csv")
    imd = [figures.inequality(m) for m, d in lib.items() if "imd_quintile" in d.groupings]
    csv(pd.concat([f for f in imd if len(f)], ignore_index=True), "inequality.csv")
    js(figures.population(), "population.json")
    csv(figures.pyramid(), "pyramid.csv")
    csv(figures.segments("segment"), "segments.csv")
    csv(figures.segments("tier"), "tiers.csv")
    csv(figures.risk_distribution(), "risk-distribution.csv")
    for by in OPPORTUNITY_UNITS:
        csv(figures.opportunity_table(by), f"opportunity-{by}.csv")
        table = figures.opportunity_table(by)
        js([figures.opportunity_units(m, by) for m in table["measure_id"]],
           f"opportunity-units-{by}.json")  # fmt: skip
    profiles = folder / "practices"
    profiles.mkdir(exist_ok=True)
    for code in figures.practices()["practice_code"]:
        p = figures.practice_profile(code)
        _json(
            {k: getattr(p, k) for k in p.__dataclass_fields__},
            profiles / f"{code}.json",
        )
        written.append(profiles / f"{code}.json")
    csv(figures.practices_week(), "practices-week.csv")
    js(figures.plan_scenario(), "plan-scenario.json")
    return written
