"""The population and risk page's tables and charts: segments by footprint, the risk
distribution and the risk model's card, every count suppressed.

The segment tables are the counts :func:`joinedup.risk.segments.segment_summary` makes
(people, emergency admissions and cost per segment or Kaiser tier), but for every
footprint *and* the partnership in one long frame, suppressed in one call with both
margins protected: the page shows the partnership column beside the footprints, and
each partnership figure is the sum of its footprints, so a hidden footprint cell must
not be recoverable from it (nor from a footprint's total, which the overview shows).
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from joinedup.measures.suppression import suppress
from joinedup.risk.segments import BRIDGES_SEGMENTS, KAISER_TIERS
from joinedup.web.svg import NHS_BLUE, NHS_DARK_BLUE, TEXT

#: The footprint code of the partnership rows in :func:`segment_table`.
PARTNERSHIP = "ALL"
#: Bands of predicted risk of an emergency admission in the next 12 months.
RISK_BANDS: tuple[tuple[float, float, str], ...] = (
    (0.0, 0.02, "under 2%"),
    (0.02, 0.05, "2% to 5%"),
    (0.05, 0.10, "5% to 10%"),
    (0.10, 0.20, "10% to 20%"),
    (0.20, 0.40, "20% to 40%"),
    (0.40, 1.01, "40% or more"),
)
MODEL_NAMES = {
    "LightGBM (calibrated)": "Risk model (LightGBM, calibrated)",
    "Logistic regression": "Comparator: logistic regression",
    "Emergency admissions last year": "Comparator: emergency admissions last year",
}


def labels_of(kind: str) -> dict[int, str]:
    """Segment number -> name (``kind`` "segment") or tier -> name ("tier")."""
    if kind == "segment":
        return BRIDGES_SEGMENTS
    if kind == "tier":
        return KAISER_TIERS
    raise ValueError(f"kind must be 'segment' or 'tier', got {kind!r}")


def segment_table(people: pd.DataFrame, kind: str = "segment") -> pd.DataFrame:
    """People, emergency admissions and cost (last 12 months) per footprint and segment
    (or tier), with the partnership as footprint :data:`PARTNERSHIP`; every
    footprint x segment cell present (zeros included), suppressed.

    ``people`` has one row per registered person with ``footprint_code``, ``kind``,
    ``emergency_admissions`` and ``cost`` (``DataService.people``). Counts of 1-7
    people are hidden with everything derived from them; secondary suppression
    protects each footprint's total and each segment's partnership figure.
    """
    labels = labels_of(kind)
    frame = people.assign(footprint_code=people["footprint_code"].fillna("").astype(str))
    fps = sorted(frame["footprint_code"].unique())
    sums = {
        "people": ("person_id", "size"),
        "emergency_admissions": ("emergency_admissions", "sum"),
        "cost": ("cost", "sum"),
    }
    by_fp = frame.groupby(["footprint_code", kind]).agg(**sums)
    whole = frame.groupby(kind).agg(**sums)
    whole.index = pd.MultiIndex.from_product([[PARTNERSHIP], whole.index])
    grid = pd.MultiIndex.from_product([[*fps, PARTNERSHIP], list(labels)])
    out = pd.concat([by_fp, whole]).reindex(grid, fill_value=0)
    out.index.names = ["footprint_code", kind]
    out = out.reset_index()
    out[f"{kind}_name"] = out[kind].map(labels)
    n = out["people"].astype(float)
    total = out.groupby("footprint_code")["people"].transform("sum").astype(float)
    out["share_of_people"] = np.where(total > 0, n / total.where(total > 0, 1), np.nan)
    out["emergency_admissions_per_1000"] = 1000 * out["emergency_admissions"] / n.where(n > 0)
    out["cost_per_head"] = out["cost"] / n.where(n > 0)
    derived = [
        "share_of_people",
        "emergency_admissions",
        "emergency_admissions_per_1000",
        "cost",
        "cost_per_head",
    ]
    return suppress(
        out, ["people"], derived={"people": derived}, total_groups=[["footprint_code"], [kind]]
    ).frame


def risk_distribution(people: pd.DataFrame) -> pd.DataFrame:
    """People of the partnership by band of predicted risk (``risk``), with the expected
    number of them admitted (the sum of their risks), suppressed against the total."""
    risk = people["risk"].to_numpy(float)
    rows = []
    for lo, hi, label in RISK_BANDS:
        inside = (risk >= lo) & (risk < hi)
        rows.append(
            {
                "band": label,
                "people": int(inside.sum()),
                "expected_admissions": float(risk[inside].sum()),
                "mean_risk_percent": float(100 * risk[inside].mean()) if inside.any() else np.nan,
            }
        )
    frame = pd.DataFrame(rows)
    frame["share_of_people"] = frame["people"] / max(1, len(people))
    derived = {"people": ["expected_admissions", "mean_risk_percent", "share_of_people"]}
    return suppress(frame, ["people"], derived=derived, total_groups=[[]]).frame


def model_card_summary(folder: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """What the page shows of the model card ``joinedup risk train`` wrote to ``folder``:
    the validation year's discrimination (AUROC with 95% CI) and calibration (observed
    against expected admission rate, the calibration plot) for the model and its two
    comparators, and how it was built (``meta``: the model's ``model.json``)."""
    folder = Path(folder)
    comparison: list[dict[str, Any]] = []
    validation = None
    csv = folder / "model-card.csv"
    if csv.exists():
        table = pd.read_csv(csv)
        table = table[table["table"] == "comparison"]
        for r in table.to_dict("records"):
            comparison.append(
                {
                    "model": MODEL_NAMES.get(r["model"], r["model"]),
                    "auroc": r["auroc"],
                    "auroc_lower": r["auroc_lower"],
                    "auroc_upper": r["auroc_upper"],
                    "brier": r["brier"],
                    "observed_percent": 100 * r["observed"],
                    "expected_percent": 100 * r["expected"],
                    "ppv_top_1_percent": 100 * r["ppv_top_0.01"],
                    "sensitivity_top_5_percent": 100 * r["sensitivity_top_0.05"],
                }
            )
        if len(table):
            counts = pd.DataFrame(
                {"people": [int(table["n"].iloc[0])], "admitted": [int(table["events"].iloc[0])]}
            )
            safe = suppress(counts, ["people", "admitted"]).frame.iloc[0]
            validation = {k: None if pd.isna(v) else int(v) for k, v in safe.items()}
    png = folder / "calibration.png"
    calibration = (
        "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode()
        if png.exists()
        else None
    )
    return {
        "trained_as_of": meta.get("trained_as_of"),
        "validated_as_of": meta.get("validated_as_of"),
        "outcome": meta.get("outcome"),
        "rounds": meta.get("rounds"),
        "validation": validation,
        "comparison": comparison,
        "calibration_png": calibration,
    }


def _count(v: object) -> str:
    return "*" if v is None or pd.isna(v) else f"{int(v):,}"


def _share(v: object) -> str:
    return "" if v is None or pd.isna(v) else f" ({100 * float(v):.1f}%)"


def kaiser_pyramid_svg(rows: list[dict[str, Any]], area: str) -> str:
    """The Kaiser Permanente pyramid: level 3 at the apex, level 1 at the base, each
    layer labelled with its (suppressed) people and share. ``rows`` are one area's
    :func:`segment_table` rows for ``kind="tier"``. The layers have equal heights: the
    shape shows the order of need, the labels the sizes."""
    by_tier = {int(r["tier"]): r for r in rows}
    width, height, base, top_y, label_x = 640, 240, 300, 12, 330
    layer = (height - top_y - 12) / 3
    cx = 12 + base / 2
    fills = {3: NHS_DARK_BLUE, 2: NHS_BLUE, 1: "#0072CE"}
    title = f"Kaiser Permanente pyramid: {area}"
    desc = "; ".join(
        f"{KAISER_TIERS[t]}: {_count(by_tier.get(t, {}).get('people'))} people" for t in (3, 2, 1)
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" class="app-chart" role="img" aria-labelledby="kp-title kp-desc" '
        f'font-family="Arial, sans-serif" font-size="13">',
        f'<title id="kp-title">{escape(title)}</title>',
        f'<desc id="kp-desc">{escape(desc)}.</desc>',
    ]
    for i, tier in enumerate((3, 2, 1)):
        y0, y1 = top_y + i * layer, top_y + (i + 1) * layer
        half0, half1 = base / 2 * (y0 - top_y) / (3 * layer), base / 2 * (y1 - top_y) / (3 * layer)
        points = (
            f"{cx - half0:.1f},{y0:.1f} {cx + half0:.1f},{y0:.1f} "
            f"{cx + half1:.1f},{y1:.1f} {cx - half1:.1f},{y1:.1f}"
        )
        r = by_tier.get(tier, {})
        parts.append(
            f'<polygon points="{points}" fill="{fills[tier]}" stroke="#fff" stroke-width="2">'
            f"<title>{escape(KAISER_TIERS[tier])}: {_count(r.get('people'))}</title></polygon>"
        )
        mid = (y0 + y1) / 2
        parts.append(
            f'<text x="{label_x}" y="{mid - 3:.1f}" fill="{TEXT}" font-weight="bold">'
            f"{escape(KAISER_TIERS[tier])}</text>"
            f'<text x="{label_x}" y="{mid + 14:.1f}" fill="{TEXT}">'
            f"{_count(r.get('people'))} people{_share(r.get('share_of_people'))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def segment_bars_svg(rows: list[dict[str, Any]], area: str) -> str:
    """Bridges to Health segments as horizontal bars, greatest need (8) at the top:
    the segment pyramid. ``rows`` are one area's :func:`segment_table` rows for
    ``kind="segment"``; suppressed counts are drawn as '*' with no bar."""
    by_seg = {int(r["segment"]): r for r in rows}
    known = [float(r["people"]) for r in rows if r["people"] is not None and pd.notna(r["people"])]
    top = max(known) if known and max(known) > 0 else 1.0
    width, row, label_w, bar_w = 640, 26, 330, 215
    height = row * len(BRIDGES_SEGMENTS) + 12
    title = f"Bridges to Health segments: {area}"
    desc = "; ".join(
        f"{n}. {name}: {_count(by_seg.get(n, {}).get('people'))} people"
        for n, name in sorted(BRIDGES_SEGMENTS.items(), reverse=True)
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" class="app-chart" role="img" aria-labelledby="bh-title bh-desc" '
        f'font-family="Arial, sans-serif" font-size="12">',
        f'<title id="bh-title">{escape(title)}</title>',
        f'<desc id="bh-desc">{escape(desc)}.</desc>',
    ]
    for i, (n, name) in enumerate(sorted(BRIDGES_SEGMENTS.items(), reverse=True)):
        y = 6 + i * row
        r = by_seg.get(n, {})
        v = r.get("people")
        parts.append(
            f'<text x="{label_w - 6}" y="{y + row * 0.65:.1f}" text-anchor="end" '
            f'fill="{TEXT}">{n}. {escape(name)}</text>'
        )
        w = 0.0 if v is None or pd.isna(v) else bar_w * float(v) / top
        if w > 0:
            parts.append(
                f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" '
                f'fill="{NHS_BLUE}"><title>{escape(name)}: {_count(v)}</title></rect>'
            )
        parts.append(
            f'<text x="{label_w + w + 6:.1f}" y="{y + row * 0.65:.1f}" fill="{TEXT}">'
            f"{_count(v)}{_share(r.get('share_of_people'))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
