"""Green Book discounting, NPV, ROI and payback against published and hand figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from joinedup.scenarios import economics

pytestmark = pytest.mark.unit

# HM Treasury Green Book (2022), discount factors at 3.5% for years 0-5, to 4 places.
GREEN_BOOK_FACTORS = [1.0, 0.9662, 0.9335, 0.9019, 0.8714, 0.8420]


def test_discount_factors_match_the_green_book_table():
    assert np.round(economics.discount_factors(6), 4).tolist() == GREEN_BOOK_FACTORS


def test_npv_of_a_hand_worked_example():
    flows = [-100.0, 30.0, 40.0, 50.0]
    by_table = sum(f * d for f, d in zip(flows, GREEN_BOOK_FACTORS, strict=False))  # 11.42
    assert economics.npv(np.array(flows)) == pytest.approx(by_table, abs=0.01)
    assert economics.npv(np.array(flows)) == pytest.approx(
        -100 + 30 / 1.035 + 40 / 1.035**2 + 50 / 1.035**3, rel=1e-12
    )


def test_roi_and_payback():
    assert economics.roi(np.array([150.0]), np.array([100.0]))[0] == pytest.approx(0.5)
    assert math.isnan(economics.roi(np.array([10.0]), np.array([0.0]))[0])
    years = economics.payback_year(
        np.array([[-100.0, 30, 40, 50], [-1.0, 0.5, 0.1, 0.1], [0.0, -100, 200, 0], [5.0, 5, 5, 5]])
    )
    assert years.tolist() == [4.0, math.inf, 3.0, 1.0]
