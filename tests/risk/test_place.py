"""The area-level (place-based) evaluation: the Poisson fixed-effects fit against an
independent implementation, the imputation estimator on panels whose truth is known
(including effects that vary between units and over time, where the two-way fixed
effects regression goes wrong), the falsification tests, and the synthetic control."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from joinedup.risk import place
from joinedup.risk.synthetic_control import synthetic_control, weights

pytestmark = pytest.mark.unit

MONTHS = pd.date_range("2023-04-01", periods=36, freq="MS")


def _panel(
    seed: int,
    effect: float | None = 0.85,
    *,
    units: int = 30,
    never: int = 8,
    trend: float = 0.0,
    size: tuple[float, float] = (500.0, 2000.0),
    grow: float = 0.0,
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """A panel of ``units`` units over 36 months: unit and month effects, Poisson
    admissions, starts in waves between months 12 and 27 (``never`` units never start).
    ``effect`` multiplies the started units' rate from their start; ``grow`` makes the
    effect deepen by that much (log scale) per month since start; ``trend`` makes the
    started units' rate rise by that much (log scale) a month for the 12 months before
    their start (a rollout that follows a rising trend)."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(units), len(MONTHS))
    month = np.tile(np.arange(len(MONTHS)), units)
    a = rng.normal(0, 0.3, units)
    g = rng.normal(0, 0.1, len(MONTHS))
    exposure = rng.uniform(*size, units)[unit] / 12
    start = np.where(
        np.arange(units) < never, place.NEVER, rng.choice([12, 15, 18, 21, 24, 27], units)
    )
    rel = month - start[unit]
    log_mu = np.log(exposure * 0.3) + a[unit] + g[month]
    log_mu += np.where(rel >= 0, np.log(effect) + grow * rel, 0.0)
    log_mu += np.where((rel < 0) & (rel >= -12), trend * (rel + 12), 0.0)
    log_mu += np.where(rel >= 0, trend * 12, 0.0)
    y = rng.poisson(np.exp(log_mu))
    names = np.array([f"U{i:02d}" for i in range(units)])
    panel = pd.DataFrame(
        {"unit": names[unit], "month": MONTHS[month], "admissions": y, "person_years": exposure}
    )
    started = start < place.NEVER
    rollout = pd.DataFrame({"unit": names[started], "started_on": MONTHS[start[started]]})
    truth_mu = np.exp(log_mu)
    return panel, rollout, truth_mu


def test_poisson_fit_matches_statsmodels_glm() -> None:
    """The fixed-point fit is the maximum-likelihood Poisson GLM with dummy variables,
    lead terms included (statsmodels, an independent implementation)."""
    panel, _, _ = _panel(3, units=12, never=3, size=(50, 200))
    unit = panel.unit.astype("category").cat.codes.to_numpy()
    month = panel.month.astype("category").cat.codes.to_numpy()
    lead = np.random.default_rng(4).choice([-1, -1, -1, 0, 1, 2], len(unit))
    effects = place.poisson_fe(
        panel.admissions.to_numpy(), panel.person_years.to_numpy(), [unit, month, lead]
    )
    frame = pd.DataFrame({"u": unit.astype(str), "m": month.astype(str)})
    x = pd.get_dummies(frame, drop_first=True).astype(float)
    for j in range(3):
        x[f"lead{j}"] = (lead == j).astype(float)
    x = sm.add_constant(x)
    glm = sm.GLM(
        panel.admissions.to_numpy(),
        x,
        family=sm.families.Poisson(),
        offset=np.log(panel.person_years.to_numpy()),
    ).fit(tol=1e-12)
    ours = panel.person_years.to_numpy() * np.exp(
        effects[0][unit] + effects[1][month] + np.where(lead >= 0, effects[2][lead], 0.0)
    )
    assert np.allclose(ours, glm.fittedvalues, rtol=1e-7)
    for j in range(3):
        assert effects[2][j] == pytest.approx(glm.params[f"lead{j}"], abs=1e-6)


def test_imputation_recovers_a_constant_effect_without_bias() -> None:
    """Over 60 panels with 0.85 planted, the mean log estimate is within two standard
    errors of the truth, and so is the placebo's of 1."""
    est = []
    for seed in range(60):
        panel, rollout, _ = _panel(seed)
        c, _, _ = place._cells(panel, rollout)
        e = place._estimates(c, 23)
        est.append((np.log(e["overall"]), np.log(e["placebo"])))
    est = np.array(est)
    se = est.std(axis=0, ddof=1) / np.sqrt(len(est))
    assert abs(est[:, 0].mean() - np.log(0.85)) < 2.5 * se[0]
    assert abs(est[:, 1].mean()) < 2.5 * se[1]


def test_imputation_is_right_where_two_way_fixed_effects_is_wrong() -> None:
    """With an effect that deepens with time since start and staggered starts, the
    two-way fixed-effects Poisson regression (one treated dummy) uses started units as
    comparisons for later ones and misses the average effect on the treated; the
    imputation estimator hits it (Goodman-Bacon 2021; Borusyak et al. 2024)."""
    panel, rollout, truth_mu = _panel(11, effect=0.95, grow=-0.03, size=(20000, 40000))
    c, _, _ = place._cells(panel, rollout)
    treated = c.month >= c.start
    # The true effect on the treated: their expected admissions over those without it.
    rel = c.month - c.start
    without = truth_mu / np.exp(np.where(treated, np.log(0.95) - 0.03 * rel, 0.0))
    truth = truth_mu[treated].sum() / without[treated].sum()
    e = place._estimates(c, int(rel[treated].max()))
    assert e["overall"] == pytest.approx(truth, rel=0.01)
    x = pd.get_dummies(
        pd.DataFrame({"u": c.unit.astype(str), "m": c.month.astype(str)}), drop_first=True
    ).astype(float)
    x["treated"] = treated.astype(float)
    twfe = sm.GLM(c.y, sm.add_constant(x), family=sm.families.Poisson(),
                  offset=np.log(c.exposure)).fit()  # fmt: skip
    assert abs(np.exp(twfe.params["treated"]) - truth) > 0.03


def test_evaluate_panel_contract_interval_and_verdict() -> None:
    """A panel with 0.80 planted: the interval holds it, the tests pass, benefit; the
    event study has the contract's keys and its steps before the start are near 1."""
    panel, rollout, _ = _panel(5, effect=0.80, size=(1500, 3000))
    r = place.evaluate_panel(panel, rollout, programme="int")
    doc = r.as_dict()
    assert doc["lower"] < 0.80 < doc["upper"]
    assert doc["verdict"] == "benefit", doc["verdict_sentence"]
    assert {"rate_ratio", "lower", "upper"} <= set(doc["placebo"])
    assert doc["placebo"]["lower"] < 1 < doc["placebo"]["upper"]
    steps = doc["event_study"]
    assert all({"months_since_start", "rate_ratio", "lower", "upper"} <= set(s) for s in steps)
    before = [s for s in steps if s["months_since_start"] < 0]
    assert len(before) == 4 and all(s["lower"] < 1 < s["upper"] for s in before)
    after = [s for s in steps if s["months_since_start"] >= 0 and s["rate_ratio"] is not None]
    assert np.mean([s["rate_ratio"] for s in after]) == pytest.approx(0.80, abs=0.06)
    assert set(doc["synthetic_control"]["pooled_units"]) <= set(rollout.unit)


def test_null_panel_is_not_called_benefit_or_harm() -> None:
    panel, rollout, _ = _panel(8, effect=1.0)
    doc = place.evaluate_panel(panel, rollout, programme="int").as_dict()
    assert doc["lower"] < 1 < doc["upper"]
    assert doc["verdict"] in ("no_clear_effect", "inconclusive")


def test_rollout_following_a_rising_trend_is_inconclusive() -> None:
    """Units that start after their admissions have been rising (and stay up: no effect
    at all) look like harm to a before/after design; the placebo and the pre-trend test
    catch it and the verdict is inconclusive."""
    panel, rollout, _ = _panel(4, effect=1.0, trend=0.02, size=(1500, 3000))
    doc = place.evaluate_panel(panel, rollout, programme="int").as_dict()
    assert doc["verdict"] == "inconclusive"
    assert doc["placebo"]["failed"] or doc["pre_trend"]["failed"]


def test_synthetic_control_weights_solve_the_constrained_least_squares() -> None:
    """A unit that is exactly 0.6 x donor 1 + 0.4 x donor 3 before the start gets those
    weights; against an independent solver (non-negative least squares with the
    sum-to-one constraint as a heavily weighted extra row) on noisy data the loss is as
    small."""
    from scipy.optimize import nnls

    rng = np.random.default_rng(2)
    donors = rng.normal(10, 2, (24, 5))
    treated = 0.6 * donors[:, 1] + 0.4 * donors[:, 3]
    assert weights(treated, donors) == pytest.approx([0, 0.6, 0, 0.4, 0], abs=1e-4)
    noisy = treated + rng.normal(0, 1, 24)
    ours = weights(noisy, donors)
    big = 1e4
    other, _ = nnls(np.vstack([donors, big * np.ones(5)]), np.append(noisy, big))
    loss = lambda w: float(((noisy - donors @ w) ** 2).sum())  # noqa: E731
    assert ours.sum() == pytest.approx(1.0) and (ours >= 0).all()
    assert loss(ours) <= loss(other / other.sum()) + 1e-6


def test_synthetic_control_finds_a_large_effect_with_the_smallest_p_value() -> None:
    panel, rollout, _ = _panel(9, effect=0.6, size=(20000, 30000))
    sc = synthetic_control(panel, rollout)
    assert sc["rate_ratio"] == pytest.approx(0.6, abs=0.08)
    assert sc["p_value"] == sc["smallest_possible_p_value"]
    assert sum(d["weight"] for d in sc["donors"]) == pytest.approx(1.0, abs=0.01)


def test_imputation_matches_an_independent_implementation() -> None:
    """The imputation estimate and its event study, rebuilt with statsmodels (a Poisson
    GLM with unit and month dummies fitted on the untreated unit-months, predicted for
    the treated ones), agree to 1e-6."""
    panel, rollout, _ = _panel(12, units=16, never=5, size=(300, 900))
    c, _, _ = place._cells(panel, rollout)
    rel = c.month - c.start
    treated = rel >= 0
    ours = place._estimates(c, int(rel[treated].max()))
    frame = pd.DataFrame({"u": c.unit.astype(str), "m": c.month.astype(str)})
    x = sm.add_constant(pd.get_dummies(frame, drop_first=True).astype(float))
    glm = sm.GLM(c.y[~treated], x[~treated], family=sm.families.Poisson(),
                 offset=np.log(c.exposure[~treated])).fit(tol=1e-12)  # fmt: skip
    mu = glm.predict(x[treated], offset=np.log(c.exposure[treated]))
    y = c.y[treated]
    assert ours["overall"] == pytest.approx(y.sum() / mu.sum(), rel=1e-6)
    step = rel[treated] // place.STEP_MONTHS
    for k in np.unique(step):
        assert ours[f"post{k}"] == pytest.approx(y[step == k].sum() / mu[step == k].sum(), rel=1e-6)


def test_event_study_leads_match_pyfixest() -> None:
    """The event study's terms before the start are those of pyfixest's Poisson
    fixed-effects regression (``fepois``, validated against R's fixest) on the untreated
    unit-months with a dummy for each three-month step before the start."""
    import pyfixest as pf

    panel, rollout, _ = _panel(12, size=(300, 900))
    c, _, _ = place._cells(panel, rollout)
    rel = c.month - c.start
    ours = place._estimates(c, int(rel[rel >= 0].max()))
    d = pd.DataFrame({"y": c.y, "u": c.unit, "m": c.month, "off": np.log(c.exposure)})
    d = d[rel < 0]
    r = rel[rel < 0]
    for j in range(4):
        lo = -place.LEAD_MONTHS + j * place.STEP_MONTHS
        d[f"l{j}"] = ((r >= lo) & (r < lo + place.STEP_MONTHS)).astype(float)
    fit = pf.fepois("y ~ l0 + l1 + l2 + l3 | u + m", data=d, offset="off")
    theirs = np.exp(fit.coef().to_numpy())
    assert [ours[f"lead{j}"] for j in range(4)] == pytest.approx(theirs, rel=1e-6)


@pytest.mark.integration
def test_the_generators_neighbourhood_teams_are_recovered_through_the_cli(economy):
    """The 200,000-person economy plants integrated neighbourhood teams (truth.json): the
    CLI's JSON keeps the contract, and its interval holds the planted rate ratio."""
    import json

    from typer.testing import CliRunner

    from joinedup.cli import app

    truth = json.loads(economy.truth_path.read_text())["programmes"]
    planted = truth["integrated_neighbourhood_teams"]
    result = CliRunner().invoke(
        app,
        ["evaluate", "--programme", "integrated_neighbourhood_teams", "--warehouse",
         str(economy.warehouse_path), "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    true_rr = planted["emergency_admissions_65plus_rate_ratio"]
    assert doc["lower"] <= true_rr <= doc["upper"], doc
    assert doc["verdict"] in ("benefit", "no_clear_effect", "inconclusive")
    assert {"rate_ratio", "lower", "upper"} <= set(doc["placebo"])
    assert doc["event_study"] and all(
        {"months_since_start", "rate_ratio", "lower", "upper"} <= set(s) for s in doc["event_study"]
    )
    started = {u["unit"]: u["started_on"] for u in planted["units"]}
    assert {s["unit"]: s["started_on"] for s in doc["starts"]} == started
    # the minimum detectable effect reads the jackknife's t interval (units - 1 df)
    from joinedup.risk.power import minimum_detectable

    units = doc["units_started"] + doc["units_never_started"]
    assert doc["minimum_detectable"]["df"] == units - 1
    d = minimum_detectable(doc["lower"], doc["upper"], df=units - 1)
    assert doc["minimum_detectable"]["lower_rate_ratio"] == pytest.approx(
        d.lower_rate_ratio, abs=2e-4
    )
    assert doc["units_started"] == len(started)
    # The table form renders the same published document.
    table = CliRunner().invoke(
        app,
        ["evaluate", "--programme", "integrated_neighbourhood_teams", "--warehouse",
         str(economy.warehouse_path)],
    )  # fmt: skip
    assert table.exit_code == 0, table.output
    assert f"rate ratio {doc['rate_ratio']:.2f} ({doc['lower']:.2f} to {doc['upper']:.2f})" in (
        table.output
    )
    assert "Event study" in table.output and "verdict:" in table.output
    # Comparison people do not apply to a place-based programme: its comparisons are units.
    refused = CliRunner().invoke(
        app,
        ["evaluate", "--programme", "integrated_neighbourhood_teams", "--warehouse",
         str(economy.warehouse_path), "--comparisons", "never_enrolled"],
    )  # fmt: skip
    assert refused.exit_code != 0
    assert "units not started yet or never" in refused.output
