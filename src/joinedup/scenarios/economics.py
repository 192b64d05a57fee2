"""Appraisal arithmetic: Green Book discounting, NPV, return on investment, payback.

HM Treasury's Green Book discounts at 3.5% a year for the first 30 years; year 0 (the
first year of the appraisal) is not discounted, year t is divided by 1.035**t.
"""

from __future__ import annotations

import numpy as np

GREEN_BOOK_RATE = 0.035


def discount_factors(years: int, rate: float = GREEN_BOOK_RATE) -> np.ndarray:
    """Discount factor of each appraisal year, the first year being year 0 (factor 1)."""
    return 1.0 / (1.0 + rate) ** np.arange(years)


def npv(flows: np.ndarray, rate: float = GREEN_BOOK_RATE) -> np.ndarray:
    """Net present value of yearly flows (last axis = years, first year undiscounted)."""
    flows = np.asarray(flows, dtype=float)
    return flows @ discount_factors(flows.shape[-1], rate)


def roi(pv_benefits: np.ndarray, pv_costs: np.ndarray) -> np.ndarray:
    """Return on investment: (PV benefits - PV costs) / PV costs (NaN without costs)."""
    pv_costs = np.asarray(pv_costs, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pv_costs > 0, (pv_benefits - pv_costs) / pv_costs, np.nan)


def payback_year(net: np.ndarray, rate: float = GREEN_BOOK_RATE) -> np.ndarray:
    """Year (1-based) from which cumulative discounted net benefit stays >= 0; inf if never.

    "Stays" matters when early years have no flows: an investment made in year 2 does
    not pay back in year 1 just because nothing had happened yet.
    """
    net = np.asarray(net, dtype=float)
    cum = np.cumsum(net * discount_factors(net.shape[-1], rate), axis=-1)
    ok = cum >= -1e-9 * np.maximum(1.0, np.abs(cum).max(axis=-1, keepdims=True))
    stays = np.flip(np.logical_and.accumulate(np.flip(ok, axis=-1), axis=-1), axis=-1)
    first = np.argmax(stays, axis=-1) + 1.0
    return np.where(stays[..., -1], first, np.inf)
