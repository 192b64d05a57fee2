"""Suppressed numbers reach templates in a form their "*" test understands.

Measures come back with nullable columns (pandas NA for a suppressed count); NA has no
truth value, so a template's ``x != x or x is none`` test raised and the page answered
500 on a small economy, where some counts are suppressed.
"""

from __future__ import annotations

import jinja2
import pandas as pd
import pytest

from joinedup.web.render import for_template as _for_template

pytestmark = pytest.mark.unit

CELL = jinja2.Template(
    '{% for r in rows.itertuples() %}{{ "*" if r.n != r.n or r.n is none '
    'else "{:,.0f}".format(r.n) }};{% endfor %}'
)


def test_suppressed_numbers_print_as_a_star() -> None:
    frame = pd.DataFrame(
        {
            "n": pd.array([1234.0, None], dtype="Float64"),
            "k": pd.array([5, None], dtype="Int64"),
        }
    )
    with pytest.raises(TypeError):  # what the page hit before
        CELL.render(rows=frame)
    fixed = _for_template({"table": frame})["table"]
    assert CELL.render(rows=fixed) == "1,234;*;"
    ints = fixed.rename(columns={"n": "x", "k": "n"})
    assert CELL.render(rows=ints) == "5;*;"
    assert frame["n"].dtype == "Float64"  # the caller's frame is left as it was
