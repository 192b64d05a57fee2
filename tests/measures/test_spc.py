"""XmR / Making Data Count SPC, checked case for case against NHSRplotthedots.

Provenance of the expected values is given in each test. Sources:

- NHSRplotthedots (NHS-R Community, MIT licence), tests/testthat/: test-ptd_spc_standard.R
  with its snapshot _snaps/ptd_spc_standard.md and _snaps/ptd_spc.md; the rule helpers'
  cases in test-ptd_calculate_point_type.R; the integration snapshot
  _snaps/integration_tests.md (R-serialised ptd_spc output for NHSRdatasets::ae_attendances
  summed by month, decoded to the numbers below).
- Where no published case exists, small series built so that a rule fires (or does not)
  unambiguously by the published rules; the arithmetic is written out beside them.
"""

from __future__ import annotations

import itertools
import math
import statistics
import warnings

import numpy as np
import pandas as pd
import pytest

from joinedup.measures.spc import SPCWarning, _runs, _trend, _two_of_three, xmr

pytestmark = [
    pytest.mark.unit,
    # trial-limit advice is expected for the short series here; tested explicitly below
    pytest.mark.filterwarnings("ignore::joinedup.measures.spc.SPCWarning"),
]

# R: set.seed(123); rnorm(20)  (the data of test-ptd_spc_standard.R)
RNORM_123 = [
    -0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.12928774, 1.71506499, 0.46091621,
    -1.26506123, -0.68685285, -0.44566197, 1.22408180, 0.35981383, 0.40077145, 0.11068272,
    -0.55584113, 1.78691314, 0.49785048, -1.96661716, 0.70135590, -0.47279141,
]  # fmt: skip

# NHSRdatasets::ae_attendances, attendances summed by month, April 2016 - March 2019, decoded
# from the serialised ptd_spc object in NHSRplotthedots' _snaps/integration_tests.md.
AE_ALL = [
    1867781, 2070340, 1958802, 2079034, 1932901, 1952464, 2001816, 1907871, 1944567,
    1895272, 1735619, 2015834, 1949762, 2066789, 1994056, 2073944, 1924663, 1925961,
    2044137, 1976971, 2003954, 2000086, 1820012, 2049785, 1984369, 2164458, 2093942,
    2179896, 1997854, 2005695, 2079492, 2037847, 2047518, 2113413, 1954947, 2167550,
]  # fmt: skip

# NHSRdatasets::ae_attendances 4-hour performance by month (1 - breaches / attendances),
# April 2016 - March 2019, decoded from the same snapshot ("ae_all performance", run with
# fix_after_n_points = 12).
AE_PERFORMANCE = [
    0.9003512724457525, 0.9027555860390081, 0.9055994429248081, 0.9028524786030435,
    0.909763097023593, 0.9064786853944554, 0.8905308979446662, 0.8837903610883545,
    0.8617594559611471, 0.851413411900772, 0.8753090395991286, 0.9000949482943537,
    0.9051525263083392, 0.8970035160821932, 0.9072518525056468, 0.9034785895858326,
    0.9029928875860346, 0.8966609396555797, 0.8994186788850258, 0.8876655246839736,
    0.8498503458662225, 0.8529918213516818, 0.8504476893558943, 0.8462121637147311,
    0.8857248828216929, 0.9039011151983545, 0.9076297242234981, 0.8931949047110505,
    0.8972702710007838, 0.8894368286304747, 0.8900933497219513, 0.8760446687116353,
    0.8644632183941728, 0.843525141560121, 0.8422525009629417, 0.8660427671795345,
]  # fmt: skip

# NHSRdatasets::ae_attendances for org RL4, attendances by month, type 1 and "other"
# departments (the two facets of "ae_rl4_by_type attendances" in the same snapshot).
RL4_TYPE1 = [
    10811, 11800, 11028, 11561, 10700, 10999, 11108, 10573, 10541, 10711, 9797, 11505,
    11072, 11858, 11531, 11752, 11009, 10884, 11436, 10892, 10705, 11186, 10018, 10985,
    10709, 11639, 11548, 11844, 10965, 11336, 11771, 11609, 11494, 12311, 11199, 12471,
]  # fmt: skip
RL4_OTHER = [
    4414, 4664, 4229, 4663, 4279, 7409, 8228, 8614, 9089, 7657, 8131, 8651,
    9148, 9165, 8401, 8489, 7637, 7856, 8782, 8386, 9138, 9830, 8527, 8862,
    8466, 8906, 8278, 8344, 7876, 7506, 8226, 8479, 9090, 9270, 8494, 8863,
]  # fmt: skip

# A baseline with mean 12 and every moving range 4, so (fixed on these 12 points):
# limits 12 +/- 2.66 * 4 = 1.36 .. 22.64; 2-sigma lines 12 +/- 1.7733 * 4 = 4.9067 .. 19.0933.
# It zig-zags (no run, no trend) and ends below the mean at 10.
BASE = [14.0, 10.0] * 6


def chart(tail, improvement="increase", **kw):
    """xmr of BASE + tail with the limits fixed on BASE."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SPCWarning)
        return xmr(BASE + list(tail), improvement, fix_after_n_points=12, **kw)


def rules(frame, start=12):
    return list(frame["rule"].iloc[start:])


# --- limits ----------------------------------------------------------------------------


def test_limits_match_nhsrplotthedots_rnorm_snapshot():
    # _snaps/ptd_spc_standard.md and _snaps/ptd_spc.md: mean 0.142, lpl -3.01, upl 3.29,
    # 20 common-cause points (printed to 3 significant figures).
    f = xmr(RNORM_123)
    assert f["mean"].round(3).unique().tolist() == [0.142]
    assert f["lower_limit"].round(2).unique().tolist() == [-3.01]
    assert f["upper_limit"].round(2).unique().tolist() == [3.29]
    assert not f["special_cause"].any()
    assert f.attrs["variation_icon"] == "common_cause"


def test_limits_match_nhsrplotthedots_ae_attendances():
    # integration snapshot "ae_all attendances spc returns expected values": mean, lpl, upl
    # (full double precision) and every point_type "common_cause".
    f = xmr(AE_ALL)
    assert f["mean"].iloc[0] == pytest.approx(2000538.9444444445, abs=1e-6)
    assert f["lower_limit"].iloc[0] == pytest.approx(1731844.3644444444, abs=1e-6)
    assert f["upper_limit"].iloc[0] == pytest.approx(2269233.5244444446, abs=1e-6)
    assert f["point_type"].eq("common_cause").all()
    assert not f.attrs["trial_limits"]


def test_rebase_matches_nhsrplotthedots_ae_attendances():
    # integration snapshot "ae_all attendances spc with rebase" (rebase = 2017-04-01, the
    # 13th month, 0-based position 12): two periods, all common cause.
    f = xmr(AE_ALL, rebase_at=[12])
    first, second = f.iloc[0], f.iloc[12]
    assert (f["period"].iloc[:12] == 0).all() and (f["period"].iloc[12:] == 1).all()
    assert first["mean"] == pytest.approx(1946858.4166666667, abs=1e-6)
    assert first["lower_limit"] == pytest.approx(1639947.374848485, abs=1e-6)
    assert first["upper_limit"] == pytest.approx(2253769.4584848485, abs=1e-6)
    assert second["mean"] == pytest.approx(2027379.2083333333, abs=1e-6)
    assert second["lower_limit"] == pytest.approx(1772921.0639855072, abs=1e-6)
    assert second["upper_limit"] == pytest.approx(2281837.3526811595, abs=1e-6)
    assert math.isnan(f["moving_range"].iloc[12])  # no moving range across a change point
    assert f["point_type"].eq("common_cause").all()


def test_special_causes_match_nhsrplotthedots_ae_performance():
    # integration snapshot "ae_all performance spc returns expected values": limits fixed on
    # the first 12 months; its columns outside_limits, special_cause_flag and point_type.
    f = xmr(AE_PERFORMANCE, "increase", fix_after_n_points=12)
    assert f["mean"].iloc[-1] == pytest.approx(0.8908915564349236, abs=1e-12)
    assert f["lower_limit"].iloc[-1] == pytest.approx(0.8614049789074258, abs=1e-12)
    assert f["upper_limit"].iloc[-1] == pytest.approx(0.9203781339624213, abs=1e-12)
    outside = [9, 20, 21, 22, 23, 33, 34]
    assert f.index[f["rule"] == "outside_limits"].tolist() == outside
    c, i, k = "common_cause", "improvement", "concern"
    expected = [c] * 9 + [k, c] + [i] * 8 + [c] + [k] * 4 + [c] * 5 + [k] * 7
    assert f["point_type"].tolist() == expected
    assert f["special_cause_improving"].tolist() == [t == i for t in expected]
    assert f["special_cause_concerning"].tolist() == [t == k for t in expected]
    # the last 7 months form a run below the mean (two of them beyond the lower limit)
    assert f["rule"].iloc[29:].tolist() == ["run"] * 4 + ["outside_limits"] * 2 + ["run"]
    assert f.attrs["variation_icon"] == "concern_low"
    assert not f.attrs["trial_limits"]  # 36 points in the period


@pytest.mark.parametrize(
    ("values", "limits", "improving", "concerning"),
    [
        (RL4_TYPE1, (11204.388888888889, 9668.27688888889, 12740.500888888888), [], range(4, 11)),
        (
            RL4_OTHER,
            (7945.75, 6558.872941176471, 9332.62705882353),
            [12, 13, *range(18, 28), 32, 33],
            range(0, 5),
        ),
    ],
)
def test_facets_match_nhsrplotthedots_rl4_attendances(values, limits, improving, concerning):
    # integration snapshot "ae_rl4_by_type attendances" (one facet per department type).
    # The snapshot also marks type 1 months 33 and 35 (12311 and 12471, both beyond 2 sigma)
    # as improvement, but month 34 (11199) lies below the mean: NHSRplotthedots 0.2 fixed
    # that (NEWS: issue #143; test-ptd_spc_standard.R "only reports special cause for 2 of 3
    # points ... on the same side of the mean"), so they are common cause here.
    f = xmr(values)
    assert (f["mean"][0], f["lower_limit"][0], f["upper_limit"][0]) == pytest.approx(limits)
    assert f.index[f["special_cause_improving"]].tolist() == list(improving)
    assert f.index[f["special_cause_concerning"]].tolist() == list(concerning)


def test_limits_follow_the_formulae_by_hand():
    # Worked example of docs/spc.md: 2, 4, 3, 5, 4, 6, 5, 7, 6, 8, 7, 9, 8
    # mean = 74 / 13 = 5.6923; moving ranges 2,1,2,1,2,1,2,1,2,1,2,1 -> mean 1.5;
    # screening threshold 3.267 * 1.5 = 4.9 drops none.
    f = xmr([2, 4, 3, 5, 4, 6, 5, 7, 6, 8, 7, 9, 8])
    mean, amr = 74 / 13, 1.5
    assert f["mean"].iloc[0] == pytest.approx(mean)
    assert f["upper_limit"].iloc[0] == pytest.approx(mean + 2.66 * amr)
    assert f["lower_limit"].iloc[0] == pytest.approx(mean - 2.66 * amr)
    assert f["upper_2sigma"].iloc[0] == pytest.approx(mean + 1.7733333 * amr)
    assert f["lower_2sigma"].iloc[0] == pytest.approx(mean - 1.7733333 * amr)
    assert f["moving_range"].tolist()[1:4] == [2, 1, 2]


def test_worked_example_of_the_docs():
    # docs/spc.md: mean 382/12, mean moving range 30/11 (none screened: 3.267 * 2.727 = 8.91)
    values = [31, 33, 30, 34, 32, 29, 33, 31, 34, 30, 32, 33, 35, 36, 35, 37, 36, 38, 35, 41]
    f = xmr(values, "decrease", target=30, fix_after_n_points=12)
    mean, amr = 382 / 12, 30 / 11
    assert f["lower_limit"].iloc[-1] == pytest.approx(mean - 2.66 * amr)  # 24.579
    assert f["upper_limit"].iloc[-1] == pytest.approx(mean + 2.66 * amr)  # 39.088
    assert f["upper_2sigma"].iloc[-1] == pytest.approx(mean + 1.7733333 * amr)  # 36.670
    run, two = "run", "two_of_three"
    assert f["rule"].tolist() == [None] * 10 + [run] * 5 + [two, run, two, run, "outside_limits"]
    assert f["special_cause_concerning"].iloc[10:].all()
    assert (f.attrs["variation_icon"], f.attrs["assurance_icon"]) == (
        "concern_high",
        "hit_and_miss",
    )


# --- moving-range screening ----------------------------------------------------------


SCREEN_SERIES = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 6, 46]
# moving ranges: nine 1s, then 5, then 40: mean 54/11 = 4.909; 3.267 * 4.909 = 16.04 drops
# the 40 (one pass only), leaving mean 14/10 = 1.4. A second pass (3.267 * 1.4 = 4.57) would
# also drop the 5: it must not. Mean of the values 57/12 = 4.75.


def test_screening_drops_large_moving_ranges_once():
    f = xmr(SCREEN_SERIES)
    assert f["mean"].iloc[0] == pytest.approx(4.75)
    assert f["upper_limit"].iloc[0] == pytest.approx(4.75 + 2.66 * 1.4)
    assert f["lower_limit"].iloc[0] == pytest.approx(4.75 - 2.66 * 1.4)


def test_screening_off_keeps_every_moving_range():
    f = xmr(SCREEN_SERIES, screen_outliers=False)
    assert f["upper_limit"].iloc[0] == pytest.approx(4.75 + 2.66 * 54 / 11)


def test_screening_narrows_limits_like_nhsrplotthedots():
    # test-ptd_spc_standard.R: y[15] <- 10 gives different limits with screening on and
    # off, and a wider range with it off.
    y = list(RNORM_123)
    y[14] = 10
    on, off = xmr(y), xmr(y, screen_outliers=False)
    plain = xmr(RNORM_123)
    assert len({on["lower_limit"][0], off["lower_limit"][0], plain["lower_limit"][0]}) == 3
    width = lambda f: f["upper_limit"][0] - f["lower_limit"][0]  # noqa: E731
    assert width(off) > width(on)


# --- fixed baseline --------------------------------------------------------------------


def test_fixed_baseline_uses_first_n_points_and_extends_limits():
    f = xmr(AE_ALL, fix_after_n_points=12)
    first12 = AE_ALL[:12]
    ranges = [abs(b - a) for a, b in itertools.pairwise(first12)]
    kept = [m for m in ranges if m < 3.267 * statistics.mean(ranges)]
    mean = statistics.mean(first12)
    assert f["mean"].nunique() == 1
    assert f["mean"].iloc[-1] == pytest.approx(mean)
    assert f["upper_limit"].iloc[-1] == pytest.approx(mean + 2.66 * statistics.mean(kept))
    assert not f.attrs["trial_limits"]  # the period has 36 points


def test_rules_do_not_cross_a_change_point():
    # 4 points above the mean closing period 0 and 3 opening period 1: no run of 7
    before = [10.0, 14.0] * 4 + [13.0] * 4  # mean 148/12 = 12.33
    after = [13.0] * 3 + [10.0, 14.0] * 5  # mean 159/13 = 12.23
    f = xmr(before + after, rebase_at=[12])
    assert f["rule"].iloc[8:15].tolist() == [None] * 7
    assert xmr(before + after)["rule"].iloc[8:15].tolist() == ["run"] * 7


def test_fixed_baseline_per_period_with_rebase():
    f = xmr(BASE + BASE[::-1] * 1 + [50, 60], rebase_at=[12], fix_after_n_points=12)
    assert f["mean"].iloc[12] == pytest.approx(12)
    assert f["upper_limit"].iloc[-1] == pytest.approx(22.64)


def test_short_fixed_baseline_warns_and_tiny_one_fails():
    with pytest.warns(SPCWarning, match="at least 12"):
        xmr(AE_ALL, fix_after_n_points=6)
    with pytest.raises(ValueError, match="at least 2"):
        xmr(AE_ALL, fix_after_n_points=1)


def test_trial_limits_below_13_points():
    with pytest.warns(SPCWarning, match="trial limits"):
        f = xmr(AE_ALL[:12])
    assert f.attrs["trial_limits"] and f.attrs["warnings"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", SPCWarning)
        assert not xmr(AE_ALL[:13]).attrs["trial_limits"]


# --- rule helpers: the cases of NHSRplotthedots' test-ptd_calculate_point_type.R ----------


def run_marks(side):
    return _runs(np.array(side)).astype(int).tolist()


def test_run_rule_cases_from_nhsrplotthedots():
    # ptd_seven_point_one_side_mean + ptd_part_of_seven_trend: a run marks all its points.
    assert run_marks([1] * 6) == [0] * 6
    assert run_marks([1] * 6 + [-1]) == [0] * 7
    assert run_marks([1] * 8 + [-1]) == [1] * 8 + [0]
    assert run_marks([-1] * 8 + [1]) == [1] * 8 + [0]
    assert run_marks([-1] + [1] * 8 + [-1]) == [0] + [1] * 8 + [0]
    # a point on the mean (0) breaks the run
    assert run_marks([1] * 3 + [0] + [1] * 4) == [0] * 8


def trend_marks(y):
    marked, direction = _trend(np.array(y, dtype=float))
    return marked.astype(int).tolist(), direction.tolist()


def test_trend_rule_cases_from_nhsrplotthedots():
    # ptd_seven_point_trend cases, with every point of the trend marked
    assert trend_marks(range(1, 7))[0] == [0] * 6  # 6 rising points: no trend
    assert trend_marks([1, 2, 3, 3, 4, 5, 6])[0] == [0] * 7  # a tie breaks it
    assert trend_marks(range(1, 8)) == ([1] * 7, [1] * 7)
    assert trend_marks([2, *range(1, 8), 3]) == ([0] + [1] * 7 + [0], [0] + [1] * 7 + [0])
    assert trend_marks(range(7, 0, -1)) == ([1] * 7, [-1] * 7)
    assert trend_marks([2, *range(7, 0, -1), 3])[0] == [0] + [1] * 7 + [0]


def test_trend_turning_point_takes_the_later_direction():
    # NHSRplotthedots (ptd_special_cause_type): a point in two trends takes the step to its
    # right: the peak of 1..7 then 6..1 is "decreasing".
    marked, direction = trend_marks([*range(1, 8), *range(6, 0, -1)])
    assert marked == [1] * 13
    assert direction == [1] * 6 + [-1] * 7


def two_marks(beyond, side):
    return _two_of_three(np.array(beyond, bool), np.array(side)).astype(int).tolist()


def test_two_of_three_cases_from_nhsrplotthedots():
    # ptd_two_in_three + ptd_part_of_two_in_three, all points on one side of the mean
    same = lambda n: [1] * n  # noqa: E731
    assert two_marks([0, 0, 0], same(3)) == [0, 0, 0]
    assert two_marks([1, 0, 1], same(3)) == [1, 0, 1]
    assert two_marks([0, 1, 1], same(3)) == [0, 1, 1]
    assert two_marks([1, 1, 0], same(3)) == [1, 1, 0]
    assert two_marks([0, 0, 1, 0, 1, 0, 0], same(7)) == [0, 0, 1, 0, 1, 0, 0]
    assert two_marks([1, 0, 0, 1], same(4)) == [0, 0, 0, 0]
    assert two_marks([1, 0, 0, 1, 1], same(5)) == [0, 0, 0, 1, 1]
    # issue #143: the three points must be on one side of the mean
    assert two_marks([1, 0, 1], [1, -1, 1]) == [0, 0, 0]


def test_two_of_three_opposite_sides_is_common_cause_end_to_end():
    # test-ptd_spc_standard.R: rep(c(1, -1), 8) with points 15, 16 at 5.5 and -5.5: both
    # close to the limits but on opposite sides -> "common_cause", "common_cause".
    y = [1.0, -1.0] * 8
    y[14], y[15] = 5.5, -5.5
    f = xmr(y)
    assert f["point_type"].tail(2).tolist() == ["common_cause", "common_cause"]


# --- rules end to end, at their boundaries ------------------------------------------------


def test_outside_limits_either_side():
    f = chart([23, 12, 1])  # 23 > 22.64, 1 < 1.36
    assert rules(f) == ["outside_limits", None, "outside_limits"]
    assert f["point_type"].iloc[12:].tolist() == ["improvement", "common_cause", "concern"]
    assert f.attrs["variation_icon"] == "concern_low"


def test_a_point_on_the_limit_is_not_outside():
    upper = chart([12])["upper_limit"].iloc[0]  # 22.64
    assert rules(chart([upper])) == [None]
    assert rules(chart([np.nextafter(upper, 100)])) == ["outside_limits"]


def test_run_of_seven_fires_and_six_does_not():
    assert rules(chart([13] * 7)) == ["run"] * 7  # 7 points above the mean of 12
    assert rules(chart([13] * 6 + [11])) == [None] * 7
    # a point exactly on the mean breaks the run
    assert rules(chart([13, 13, 13, 12, 13, 13, 13])) == [None] * 7


def test_trend_of_seven_fires_and_six_does_not():
    # BASE ends at 10 (position 11), so 10 plus six rises is a trend of 7 ...
    f = chart([11, 11.5, 12, 12.5, 13, 13.5])
    assert rules(f, 11) == ["trend"] * 7
    # ... 10 plus five rises is not, and neither is 7 points with a tie
    assert rules(chart([11, 11.5, 12, 12.5, 13]), 11) == [None] * 6
    assert rules(chart([11, 11.5, 11.5, 12, 12.5, 13]), 11) == [None] * 7


def test_trend_is_classified_by_its_direction_not_its_side():
    # NHSRplotthedots 0.2 (issues #167, #171): a rising trend below the mean of a measure
    # where higher is better is improvement; the trend outranks the run below the mean.
    f = chart([10.2, 10.4, 10.6, 10.8, 11, 11.2])
    assert rules(f, 11) == ["trend"] * 7
    assert f["special_cause_improving"].iloc[11:].all()
    assert f.attrs["variation_icon"] == "improvement_high"
    g = chart([10.2, 10.4, 10.6, 10.8, 11, 11.2], improvement="decrease")
    assert g["special_cause_concerning"].iloc[11:].all()
    assert g.attrs["variation_icon"] == "concern_high"


def test_two_of_three_beyond_two_sigma():
    # 20 is between the 2-sigma line 19.09 and the limit 22.64; 13 is above the mean
    assert rules(chart([20, 13, 20])) == ["two_of_three", None, "two_of_three"]
    assert rules(chart([13, 20, 20])) == [None, "two_of_three", "two_of_three"]
    # NHSRplotthedots needs all three points of the window on one side: the last two points
    # of a series after a point below the mean do not fire (its windows are zero-padded).
    assert rules(chart([20, 20])) == [None, None]
    assert rules(chart([20, 13, 13])) == [None] * 3  # only one
    assert rules(chart([20, 11, 20])) == [None] * 3  # middle point below the mean


def test_two_of_three_forms_differ_on_points_beyond_the_limit():
    # 23 is beyond the limit: NHSRplotthedots counts only points between the 2-sigma line
    # and the limit, the 2023 Making Data Count revision counts it as well.
    nhsr = chart([23, 13, 20])
    mdc = chart([23, 13, 20], two_of_three="mdc2023")
    assert rules(nhsr) == ["outside_limits", None, None]
    assert rules(mdc) == ["outside_limits", None, "two_of_three"]
    assert mdc.attrs["rules"]["two_of_three"] == "mdc2023"
    assert nhsr.attrs["rules"]["two_of_three"] == "nhsr"


def test_priority_outside_then_trend_then_two_of_three_then_run():
    # rising 10 -> 23 : a trend of 7 whose last point is beyond the limit
    f = chart([12, 14, 16, 18, 20, 23])
    assert rules(f, 11) == ["trend"] * 6 + ["outside_limits"]
    # seven points above the mean, two of them beyond 2 sigma -> two_of_three beats run
    g = chart([13, 20, 20, 13, 13, 13, 13])
    assert rules(g) == ["run", "two_of_three", "two_of_three", "run", "run", "run", "run"]


# --- improvement direction and icons -----------------------------------------------------


def test_improvement_direction_maps_special_causes():
    inc = chart([23])
    dec = chart([23], improvement="decrease")
    neu = chart([23], improvement="neutral")
    assert inc["special_cause_improving"].iloc[-1] and not inc["special_cause_concerning"].iloc[-1]
    assert dec["special_cause_concerning"].iloc[-1] and not dec["special_cause_improving"].iloc[-1]
    assert neu["special_cause"].iloc[-1]
    assert not neu["special_cause_improving"].iloc[-1]
    assert not neu["special_cause_concerning"].iloc[-1]
    assert (inc.attrs["variation_icon"], dec.attrs["variation_icon"]) == (
        "improvement_high",
        "concern_high",
    )
    assert neu.attrs["variation_icon"] == "neither_high"
    assert chart([1], improvement="neutral").attrs["variation_icon"] == "neither_low"
    assert chart([1], improvement="decrease").attrs["variation_icon"] == "improvement_low"


def test_variation_icon_is_the_last_point():
    assert chart([23, 12]).attrs["variation_icon"] == "common_cause"


@pytest.mark.parametrize(
    ("improvement", "target", "icon"),
    [
        # limits 1.36 .. 22.64 (NHSRplotthedots ptd_calculate_assurance_type)
        ("increase", 1.0, "pass"),  # every value beats a target below the lower limit
        ("increase", 23.0, "fail"),
        ("increase", 12.0, "hit_and_miss"),
        ("increase", 22.64, "hit_and_miss"),  # on the limit: not beyond it
        ("decrease", 23.0, "pass"),
        ("decrease", 1.0, "fail"),
        ("decrease", 12.0, "hit_and_miss"),
        ("neutral", 12.0, None),
    ],
)
def test_assurance_icon(improvement, target, icon):
    f = chart([12], improvement=improvement, target=target)
    assert f.attrs["assurance_icon"] == icon


def test_assurance_uses_the_latest_period_and_none_without_target():
    f = xmr(BASE + [100, 104] * 7, rebase_at=[12], target=50)
    assert f.attrs["assurance_icon"] == "pass"  # latest limits around 102, target 50 below
    assert chart([12]).attrs["assurance_icon"] is None


# --- input handling --------------------------------------------------------------------


def test_missing_values_keep_their_row_and_are_skipped():
    y = [13.0] * 3 + [None] + [13.0] * 4
    f = chart(y)
    assert len(f) == 20 and math.isnan(f["value"].iloc[15])
    assert not f["special_cause"].iloc[15] and f["rule"].iloc[15] is None
    # the 7 observed points above the mean still form a run across the gap
    assert f["rule"].iloc[12:].tolist() == ["run"] * 3 + [None] + ["run"] * 4
    # moving ranges either side of a gap are missing, as with NHSRplotthedots' diff()
    g = xmr([1.0, 2.0, None, 4.0, 5.0])
    assert g["moving_range"].isna().tolist() == [True, False, True, True, False]


def test_labels_and_series_input():
    months = pd.period_range("2016-04", periods=36, freq="M")
    f = xmr(pd.Series(AE_ALL), x=months)
    assert f["x"].tolist() == list(months)
    assert f["upper_limit"].iloc[0] == pytest.approx(2269233.5244444446, abs=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"improvement": "up"}, "improvement must be one of"),
        ({"two_of_three": "weco"}, "two_of_three must be one of"),
        ({"rebase_at": [40]}, "outside 0..35"),
        ({"rebase_at": [1.5]}, "integer positions"),
        ({"x": [1, 2]}, "x has 2 labels"),
        ({"target": float("nan")}, "target must be a finite number"),
    ],
)
def test_bad_options_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        xmr(AE_ALL, **kwargs)


def test_empty_series_and_numpy_scalars():
    empty = xmr([])
    assert empty.empty and empty.attrs["variation_icon"] is None
    f = xmr(np.array(AE_ALL), target=np.int64(2_300_000), rebase_at=[np.int64(12)])
    assert f.attrs["assurance_icon"] == "fail"  # above the latest upper limit 2281837


def test_non_numeric_values_raise():
    with pytest.raises(ValueError, match="values must be numbers"):
        xmr([1, "two", 3])
