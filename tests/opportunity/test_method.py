"""Indirect standardisation, benchmarks and gaps on a tiny case worked by hand.

Four units (A-D), two age bands, one sex. Stratum rates pooled over the units:
  young: N 1000+500+1000+500 = 3000, O 10+10+5+5 = 30   -> r = 0.01
  old:   N  100+400+ 100+400 = 1000, O 20+60+10+30 = 120 -> r = 0.12
Expected E = N_young x 0.01 + N_old x 0.12:
  A = 10 + 12 = 22, B = 5 + 48 = 53, C = 22, D = 53 (sum 150 = observed total)
Observed O: A 30, B 70, C 15, D 35. Ratios O/E: A 1.363636, B 1.320755,
  C 0.681818, D 0.660377.
Best quartile (25th percentile, linear): D + 0.75 x (C - D)
  = 35/53 + 0.75 x 25/1166 = 788.75/1166 = 0.676458
At benchmark B x E: A, C 22 x 0.676458 = 14.88208; B, D 53 x 0.676458 = 35.85227.
Avoidable = O - B x E floored at 0: A 15.11792, B 34.14773, C 0.11792, D 0.
Exact Poisson 95% limits of 30 events: 20.2409 to 42.8269 (Garwood; the
  published table value), so A's avoidable runs 5.3588 to 27.9448.
"""

from __future__ import annotations

import pandas as pd
import pytest

from joinedup.opportunity import method
from joinedup.opportunity.peers import similar_peers

pytestmark = pytest.mark.unit

B_HAND = 0.676458


def strata() -> pd.DataFrame:
    rows = [
        # unit, age band, IMD quintile, observed, denominator
        ("A", "young", "1", 10, 1000), ("A", "old", "3", 20, 100),
        ("B", "young", "1", 10, 500), ("B", "old", "3", 60, 400),
        ("C", "young", "1", 5, 1000), ("C", "old", "3", 10, 100),
        ("D", "young", "1", 5, 500), ("D", "old", "3", 30, 400),
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["unit", "age_band", "imd_quintile", "observed",
                                        "denominator"])  # fmt: skip
    frame["sex"] = "F"
    return frame


def test_expected_counts_and_ratios_match_the_hand_working():
    units = method.standardise(strata()).set_index("unit")
    assert units["expected"].to_dict() == pytest.approx({"A": 22, "B": 53, "C": 22, "D": 53})
    assert units["ratio"]["A"] == pytest.approx(30 / 22)
    assert units["ratio"]["D"] == pytest.approx(35 / 53)
    assert units["expected"].sum() == pytest.approx(units["observed"].sum())


def test_best_quartile_is_the_interpolated_25th_percentile():
    units = method.standardise(strata())
    assert method.best_quartile_ratio(units, "decrease") == pytest.approx(B_HAND, abs=1e-6)
    # Higher is better: 75th percentile = B + 0.25 x (A - B) ratios.
    upper = 70 / 53 + 0.25 * (30 / 22 - 70 / 53)
    assert method.best_quartile_ratio(units, "increase") == pytest.approx(upper)


def test_avoidable_events_and_exact_limits_match_the_hand_working():
    units = method.standardise(strata())
    out = method.gaps(units, method.best_quartile_ratio(units, "decrease"), "decrease")
    out = out.set_index("unit")
    assert out["avoidable"].to_dict() == pytest.approx(
        {"A": 15.11792, "B": 34.14773, "C": 0.11792, "D": 0.0}, abs=1e-4
    )
    assert out.loc["A", "avoidable_lower"] == pytest.approx(20.2409 - 14.88208, abs=1e-3)
    assert out.loc["A", "avoidable_upper"] == pytest.approx(42.8269 - 14.88208, abs=1e-3)
    assert out.loc["D", "avoidable_lower"] == 0.0


def test_higher_is_better_counts_the_shortfall():
    units = method.standardise(strata())
    out = method.gaps(units, 1.0, "increase").set_index("unit")
    # At the pooled average (ratio 1) C is 22 - 15 = 7 short, D 53 - 35 = 18; A, B none.
    assert out["avoidable"].to_dict() == pytest.approx({"A": 0, "B": 0, "C": 7, "D": 18})


def test_share_of_the_gap_in_the_most_deprived_fifth():
    # A's young (quintile 1): O 10, B x E = 10 x 0.676458 -> excess 3.23542 of 15.11792.
    share = method.deprived_share(strata(), method.AGE_SEX, B_HAND, "decrease")
    assert share["A"] == pytest.approx(3.23542 / 15.11792, abs=1e-4)
    # B's young: O 10, B x E = 5 x 0.676458 = 3.38229 -> excess 6.61771 of 34.14773.
    assert share["B"] == pytest.approx(6.61771 / 34.14773, abs=1e-4)
    assert share["D"] == 0.0  # no gap, no share


def test_deprivation_adjustment_uses_imd_in_the_strata():
    # Every age band sits in one quintile here, so the expected counts do not change.
    a = method.standardise(strata(), method.AGE_SEX)
    b = method.standardise(strata(), method.AGE_SEX_DEPRIVATION)
    assert a["expected"].tolist() == pytest.approx(b["expected"].tolist())


def test_best_five_of_ten_peers_is_the_mean_of_the_five_lowest_ratios():
    units = pd.DataFrame(
        {"unit": list("XABCDEFG"), "ratio": [2.0, 0.5, 0.9, 1.1, 0.7, 1.4, 0.8, 3.0]}
    )
    peers = {u: [p for p in "ABCDEFG" if p != u] for u in units["unit"]}
    # X's peers A-G: best five (lowest) 0.5, 0.7, 0.8, 0.9, 1.1 -> mean 0.8.
    assert method.peer_ratios(units, peers, "decrease")["X"] == pytest.approx(0.8)
    # higher better: 3.0, 1.4, 1.1, 0.9, 0.8 -> 1.44
    assert method.peer_ratios(units, peers, "increase")["X"] == pytest.approx(1.44)


def test_similar_peers_are_nearest_by_population_and_reproducible():
    profile = pd.DataFrame(
        {
            "unit": ["P1", "P2", "P3", "P4"],
            "under_18": [0.20, 0.21, 0.30, 0.10],
            "aged_65_plus": [0.20, 0.19, 0.10, 0.30],
            "aged_85_plus": [0.02, 0.02, 0.01, 0.04],
            "most_deprived": [0.10, 0.12, 0.60, 0.00],
            "minority_ethnic": [0.10, 0.10, 0.40, 0.05],
            "long_term_condition": [0.30, 0.31, 0.25, 0.40],
        }
    )
    peers = similar_peers(profile, count=2)
    assert peers["P1"][0] == "P2" and peers["P2"][0] == "P1"
    assert peers == similar_peers(profile.sample(frac=1, random_state=1), count=2)


def test_bad_direction_is_refused():
    units = method.standardise(strata())
    with pytest.raises(method.OpportunityError, match="direction"):
        method.gaps(units, 1.0, "neutral")
