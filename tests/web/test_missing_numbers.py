"""Suppressed numbers reach templates in a form their "*" test understands.

Measures come back with nullable columns (pandas NA for a suppressed count); NA has no
truth value, so a template's ``x != x or x is none`` test raised and the page answered
500 on a small economy, where some counts are suppressed. Pages now get plain rows
(:func:`joinedup.web.render.page_context`): a missing number is None.
"""

from __future__ import annotations

import jinja2
import pandas as pd
import pytest

from joinedup.web.render import page_context

pytestmark = pytest.mark.unit

FRAME_CELL = jinja2.Template(
    '{% for r in rows.itertuples() %}{{ "*" if r.n != r.n or r.n is none '
    'else "{:,.0f}".format(r.n) }};{% endfor %}'
)
CELL = jinja2.Template(
    '{% for r in rows %}{{ "*" if r.n != r.n or r.n is none '
    'else "{:,.0f}".format(r.n) }};{% endfor %}'
)


def test_suppressed_numbers_print_as_a_star() -> None:
    frame = pd.DataFrame(
        {
            "n": pd.array([1234.0, None], dtype="Float64"),
            "k": pd.array([5, None], dtype="Int64"),
            "f": [0.5, float("nan")],
        }
    )
    with pytest.raises(TypeError):  # what the page hit before
        FRAME_CELL.render(rows=frame)
    fixed = page_context({"table": frame, "nested": [{"t": frame}]})
    assert CELL.render(rows=fixed["table"]) == "1,234;*;"
    ints = [{"n": r["k"]} for r in fixed["table"]]
    assert CELL.render(rows=ints) == "5;*;"
    floats = [{"n": r["f"]} for r in fixed["nested"][0]["t"]]
    assert CELL.render(rows=floats) == "0;*;"
    assert fixed["table"][1] == {"n": None, "k": None, "f": None}
    assert frame["n"].dtype == "Float64"  # the caller's frame is left as it was
