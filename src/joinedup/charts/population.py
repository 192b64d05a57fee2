"""Population pictures drawn as SVG on the server (no JavaScript, no network): the
age-sex pyramid, the Kaiser Permanente pyramid and the Bridges to Health segments.

Each takes published (suppressed) figures and draws a suppressed count as '*' with no
bar; each SVG carries a title and a description for screen readers.
"""

from __future__ import annotations

from html import escape
from typing import Any

import pandas as pd

from joinedup.risk.segments import BRIDGES_SEGMENTS, KAISER_TIERS

# NHS identity colours with at least 3:1 contrast on white for graphical objects.
NHS_BLUE = "#005EB8"
NHS_DARK_BLUE = "#003087"
TEXT = "#212B32"


def pyramid_svg(frame: pd.DataFrame, title: str = "Registered population by age and sex") -> str:
    """An accessible population pyramid (title, description, one bar per cell) from a
    frame with ``age_band``, ``sex`` (F/M) and ``people`` (suppressed cells are NA and
    drawn as empty bars marked '*')."""
    bands = list(dict.fromkeys(frame["age_band"]))
    value = {(r.age_band, r.sex): r.people for r in frame.itertuples()}
    known = [v for v in value.values() if pd.notna(v)]
    top = max(known) if known else 1
    width, row, label_w, half = 640, 18, 60, 270
    height = row * len(bands) + 60
    cx = width / 2
    total = int(sum(known))
    desc = (
        f"{total:,} registered people (suppressed small numbers excluded), by five-year "
        f"age band, females on the left and males on the right."
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="pyr-title pyr-desc" font-family="Arial, sans-serif" '
        f'font-size="11">',
        f'<title id="pyr-title">{escape(title)}</title>',
        f'<desc id="pyr-desc">{escape(desc)}</desc>',
        f'<text x="{cx - label_w / 2 - 4}" y="14" text-anchor="end" fill="{TEXT}" '
        f'font-weight="bold">Female</text>',
        f'<text x="{cx + label_w / 2 + 4}" y="14" fill="{TEXT}" font-weight="bold">Male</text>',
    ]
    for i, band in enumerate(reversed(bands)):
        y = 24 + i * row
        parts.append(
            f'<text x="{cx}" y="{y + row * 0.7}" text-anchor="middle" fill="{TEXT}">{band}</text>'
        )
        for sex, sign, colour in (("F", -1, NHS_DARK_BLUE), ("M", 1, NHS_BLUE)):
            v = value.get((band, sex))
            start = cx + sign * label_w / 2
            if v is None or pd.isna(v):
                x = start + (4 if sign > 0 else -10)
                parts.append(f'<text x="{x}" y="{y + row * 0.7}" fill="{TEXT}">*</text>')
                continue
            w = half * float(v) / top
            x = start if sign > 0 else start - w
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{row - 4}" '
                f'fill="{colour}"><title>{sex} {band}: {int(v):,}</title></rect>'
            )
    parts.append(
        f'<text x="{cx}" y="{height - 8}" text-anchor="middle" fill="{TEXT}">'
        f"* suppressed (1-7 people, or to protect a suppressed cell)</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def _count(v: object) -> str:
    return "*" if v is None or pd.isna(v) else f"{int(v):,}"


def _share(v: object) -> str:
    return "" if v is None or pd.isna(v) else f" ({100 * float(v):.1f}%)"


def kaiser_pyramid_svg(rows: list[dict[str, Any]], area: str) -> str:
    """The Kaiser Permanente pyramid: level 3 at the apex, level 1 at the base, each
    layer labelled with its (suppressed) people and share. ``rows`` are one area's
    ``segment_summary`` rows for ``kind="tier"``. The layers have equal heights: the
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
    the segment pyramid. ``rows`` are one area's ``segment_summary`` rows for
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
