"""Small server-side SVG charts (no JavaScript, no network): the age-sex pyramid."""

from __future__ import annotations

from html import escape

import pandas as pd

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
