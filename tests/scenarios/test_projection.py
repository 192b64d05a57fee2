"""Population projection files and growth factors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from joinedup.scenarios.model import ScenarioError
from joinedup.scenarios.projection import growth_factors, load_projection

pytestmark = pytest.mark.unit


def test_default_projection_covers_every_band_and_sex_and_older_people_grow_fastest():
    rates = load_projection()
    assert len(rates) == 14
    assert rates[("85+", "M")] > rates[("45-64", "M")] > rates[("0-4", "M")]


def test_growth_compounds_and_sex_u_takes_the_average():
    cells = pd.DataFrame({"age_band": ["85+", "85+"], "sex": ["F", "U"]})
    rates = load_projection()
    f = growth_factors(cells, rates, 3)
    assert f[0].tolist() == pytest.approx([(1 + rates[("85+", "F")]) ** t for t in (1, 2, 3)])
    mean = (rates[("85+", "F")] + rates[("85+", "M")]) / 2
    assert f[1, 2] == pytest.approx((1 + mean) ** 3)
    assert (growth_factors(cells, None, 4) == np.ones((2, 4))).all()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("age_band,sex\n0-4,F\n", "missing column(s) annual_growth"),
        ("# note\nage_band,sex,annual_growth\n0-5,F,0.01\n", "line 3: age_band '0-5' unknown"),
        ("age_band,sex,annual_growth\n0-4,X,0.01\n", "line 2: sex 'X'; expected F or M"),
        ("age_band,sex,annual_growth\n0-4,F,abc\n", "line 2: annual_growth 'abc'"),
        ("age_band,sex,annual_growth\n0-4,F,1.2\n", "line 2: annual_growth 1.2 out of range"),
        ("age_band,sex,annual_growth\n0-4,F,0.01\n", "no row for 0-4 M"),
    ],
)
def test_bad_projection_files_name_line_and_field(tmp_path, text, expected):
    f = tmp_path / "proj.csv"
    f.write_text(text)
    with pytest.raises(ScenarioError) as err:
        load_projection(f)
    assert str(err.value).startswith(str(f))
    assert expected in str(err.value)
