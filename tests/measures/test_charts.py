"""SPC charts: deterministic, accessible SVG and PNG with Making Data Count colours."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from joinedup.charts.spc import COLOURS, spc_chart
from joinedup.measures.spc import xmr

pytestmark = [
    pytest.mark.unit,
    pytest.mark.filterwarnings("ignore::joinedup.measures.spc.SPCWarning"),
]

SVG_NS = "{http://www.w3.org/2000/svg}"
# Limits fixed on a zig-zag baseline (mean 12, limits 1.36 .. 22.64), then a point beyond
# the upper limit (improvement for an "increase" measure) and one beyond the lower (concern).
BASE = [14.0, 10.0] * 6
MONTHS = [f"2024-{m:02d}" for m in range(1, 13)] + ["2025-01", "2025-02"]


def frame(tail=(23.0, 1.0), improvement="increase", target=None):
    return xmr(BASE + list(tail), improvement, target=target, fix_after_n_points=12, x=MONTHS)


def test_svg_is_deterministic_and_undated():
    f = frame()
    a = spc_chart(f, "Emergency admissions", "per 1,000")
    b = spc_chart(frame(), "Emergency admissions", "per 1,000")
    assert a == b
    assert b"<dc:date>" not in a


def test_svg_is_accessible_xml_with_title_labels_and_icons():
    f = frame(tail=(12.0, 23.0), target=5.0)
    svg = spc_chart(f, "A&E attendances <all>", "Attendances", x_label="Month")
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert root.find(f"{SVG_NS}title").text == "A&E attendances <all>"
    desc = root.find(f"{SVG_NS}desc").text
    assert "improvement (high)" in desc and "hits and misses" in desc
    text = svg.decode()
    for expected in (
        "Attendances",
        "Month",
        "2024-01",
        "Special cause: improvement (high)",
        "Assurance: hits and misses target",
    ):
        assert expected in text


def test_points_take_the_making_data_count_colours():
    svg = spc_chart(frame(), "t", "y").decode().lower()
    assert COLOURS["improvement"].lower() in svg  # 23: beyond the upper limit
    assert COLOURS["concern"].lower() in svg  # 1: beyond the lower limit
    calm = spc_chart(frame(tail=(12.0, 13.0)), "t", "y").decode().lower()
    assert COLOURS["concern"].lower() not in calm
    assert COLOURS["improvement"].lower() not in calm
    neutral = spc_chart(frame(improvement="neutral"), "t", "y").decode().lower()
    assert COLOURS["neutral_high"].lower() in neutral
    assert "special cause: neither (low)" in neutral


def test_target_line_drawn_only_with_a_target():
    with_target = spc_chart(frame(target=5.0), "t", "y").decode().lower()
    without = spc_chart(frame(), "t", "y").decode().lower()
    assert COLOURS["target"].lower() in with_target
    assert COLOURS["target"].lower() not in without


def test_png_has_concern_orange_pixels():
    png = spc_chart(frame(), "t", "y", fmt="png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    orange = np.array([0xFA, 0xB4, 0x28])
    assert (np.abs(pixels.astype(int) - orange).sum(axis=1) < 30).any()
    calm = spc_chart(frame(tail=(12.0, 13.0)), "t", "y", fmt="png")
    calm_px = np.asarray(Image.open(io.BytesIO(calm)).convert("RGB")).reshape(-1, 3)
    assert not (np.abs(calm_px.astype(int) - orange).sum(axis=1) < 30).any()


def test_bad_input_is_rejected_clearly():
    with pytest.raises(ValueError, match="lacks columns"):
        spc_chart(frame().drop(columns=["upper_limit"]), "t", "y")
    with pytest.raises(ValueError, match="no points"):
        spc_chart(xmr([]), "t", "y")
    with pytest.raises(ValueError, match="fmt must be"):
        spc_chart(frame(), "t", "y", fmt="gif")
    with pytest.raises(ValueError, match="3 x labels for 14 points"):
        spc_chart(frame(), "t", "y", x_labels=["a", "b", "c"])
