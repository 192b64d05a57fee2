"""Integrated neighbourhood teams (joinedup.synth.neighbourhood): a staggered rollout by
practice cluster with never-started clusters, its truth.json contract, the
programme_rollout table, and the planted effect on the emergency admissions of people
aged 65 and over (and of nobody else)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from joinedup.cli import app
from joinedup.schema import codes
from joinedup.synth import SynthConfig, build, generate
from joinedup.synth.admissions import Spells
from joinedup.synth.geography import build_geography
from joinedup.synth.neighbourhood import PROGRAMME, coins, rollout
from joinedup.synth.population import NO_END


def _months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


@pytest.mark.unit
@pytest.mark.parametrize(
    ("people", "years"), [(3_000, 2), (20_000, 3), (200_000, 3), (250_000, 4), (1_000_000, 3)]
)
def test_rollout_is_staggered_by_cluster_with_never_started_clusters(people, years):
    config = SynthConfig(people=people, years=years, seed=42)
    geo = build_geography(config)
    started = rollout(config, geo)
    assert started.shape == (len(geo.practice_codes),)
    by_cluster: dict[str, set[int]] = {}
    for cluster, start in zip(geo.practice_cluster, started.tolist(), strict=True):
        by_cluster.setdefault(cluster, set()).add(start)
    # every practice starts on its cluster's day
    assert all(len(days) == 1 for days in by_cluster.values())
    cluster_day = {c: days.pop() for c, days in by_cluster.items()}
    never = [c for c, d in cluster_day.items() if d == NO_END]
    starts = sorted({d for d in cluster_day.values() if d != NO_END})
    assert len(never) >= 1 and len(never) <= max(1, round(len(cluster_day) / 4))
    assert len(starts) >= 2, "the starts should be staggered"
    for d in starts:
        when = date.fromordinal(date(1970, 1, 1).toordinal() + d)
        assert when.day == 1, when
        # at least 12 months of data before the start, and 6 from it to the end
        assert _months_between(config.start, when) >= 12, when
        assert _months_between(when, config.end + timedelta(days=1)) >= 6, when
    # the same seed gives the same rollout
    assert np.array_equal(started, rollout(config, geo))


@pytest.mark.unit
def test_a_one_year_window_is_squeezed_but_keeps_months_before_and_after():
    config = SynthConfig(people=20_000, years=1, seed=1)
    started = rollout(config, build_geography(config))
    starts = [date.fromordinal(date(1970, 1, 1).toordinal() + int(d))
              for d in started if d != NO_END]  # fmt: skip
    assert starts and (started == NO_END).any()
    assert all(_months_between(config.start, s) >= 3 and s < config.end for s in starts)


@pytest.mark.unit
def test_coins_belong_to_the_spell_not_its_position():
    rng = np.random.default_rng(0)
    who, adm = rng.integers(0, 50, 400), rng.integers(0, 900, 400)
    spells = Spells(who, adm, adm + rng.integers(0, 9, 400), np.zeros(400, np.int8))
    u = coins(spells, salt=7)
    assert ((u >= 0) & (u < 1)).all()
    order = rng.permutation(400)[:300]
    assert np.array_equal(coins(spells.select(order), salt=7), u[order])
    # identical spells get coins of their own
    twins = spells.select(np.array([0, 0, 0]))
    assert len(set(coins(twins, salt=7).tolist())) == 3


@pytest.mark.unit
def test_truth_json_has_the_contract_keys():
    config = SynthConfig(people=20_000, years=3, seed=5, area_effect=0.7)
    tables, truth, _ = generate(config)
    entry = truth["programmes"][PROGRAMME]
    assert entry["level"] == "practice"
    assert entry["emergency_admissions_65plus_rate_ratio"] == 0.7
    assert "65" in entry["applies"]
    units = entry["units"]
    assert units and all({"unit", "cluster", "started_on"} <= set(u) for u in units)
    assert all(date.fromisoformat(u["started_on"]).day == 1 for u in units)
    practices = tables["practice"].to_pandas().set_index("practice_code")["cluster_code"]
    assert {u["unit"]: u["cluster"] for u in units} == practices.loc[
        [u["unit"] for u in units]
    ].to_dict()
    assert sorted([u["unit"] for u in units] + entry["never_started"]) == sorted(practices.index)
    assert len({u["started_on"] for u in units}) >= 2 and entry["never_started"]
    json.dumps(truth)  # plain JSON values


@pytest.mark.integration
def test_programme_rollout_in_the_warehouse_matches_the_truth(tmp_path):
    built = build(SynthConfig(people=3_000, years=2, seed=9), tmp_path)
    truth = json.loads(built.truth_path.read_text())["programmes"][PROGRAMME]
    with duckdb.connect(str(built.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "SELECT programme, unit_level, unit_code, started_on, ended_on FROM programme_rollout"
        ).fetchall()
    assert sorted((r[2], r[3].isoformat()) for r in rows) == sorted(
        (u["unit"], u["started_on"]) for u in truth["units"]
    )
    assert {(r[0], r[1], r[4]) for r in rows} == {(PROGRAMME, "practice", None)}
    assert built.row_counts["programme_rollout"] == len(truth["units"])


def _emergency_admissions(config: SynthConfig) -> pd.DataFrame:
    """Emergency admissions other than those ending in death, each labelled: ``reached``
    (aged 65+ for certain, at a practice on or after its start), ``under_65`` (under 65
    for certain), ``never`` (a practice that never started) or ``other`` (ages 64-65
    that year of birth cannot settle, 65+ before the start)."""
    tables, truth, _ = generate(config)
    start = {u["unit"]: pd.Timestamp(u["started_on"])
             for u in truth["programmes"][PROGRAMME]["units"]}  # fmt: skip
    spells = tables["apc_spell"].to_pandas()
    spells = spells[spells["admission_method"].isin(codes.EMERGENCY_METHODS)
                    & (spells["discharge_destination"] != "79")]  # fmt: skip
    person = tables["person"].to_pandas().set_index("person_id")
    practice = person["practice_code"].loc[spells["person_id"]].to_numpy()
    admitted = pd.to_datetime(spells["admitted_on"])
    # age on the day is year - year of birth, or one less
    years = (
        admitted.dt.year.to_numpy() - person["year_of_birth"].loc[spells["person_id"]].to_numpy()
    )
    started = pd.Series(practice).map(start).to_numpy()
    after = ~pd.isna(started) & (admitted.to_numpy() >= started)
    group = np.select(
        [after & (years - 1 >= 65), years < 65, pd.isna(started)],
        ["reached", "under_65", "never"],
        "other",
    )
    return spells.assign(group=group)[["person_id", "admitted_on", "discharged_on", "group"]]


@pytest.mark.unit
def test_the_planted_ratio_thins_admissions_of_65s_at_started_practices_only():
    same = {"people": 20_000, "years": 3, "seed": 3}
    none = _emergency_admissions(SynthConfig(**same, area_effect=1.0))
    half = _emergency_admissions(SynthConfig(**same, area_effect=0.5))
    n_none = (none["group"] == "reached").sum()
    n_half = (half["group"] == "reached").sum()
    # Each of the n admissions is kept with probability 0.5, so the ratio has sd
    # sqrt(0.25 / n) (about 0.018 for the ~730 admissions here); allow 4 sd, and 0.02
    # for stays that a prevented admission no longer overlaps (kept by tidy instead).
    assert n_none > 500
    tolerance = 4 * np.sqrt(0.25 / n_none) + 0.02
    assert n_half / n_none == pytest.approx(0.5, abs=tolerance)
    assert n_half / n_none >= 0.5 - 4 * np.sqrt(0.25 / n_none)
    # Nobody else's admissions change: under 65, and practices that never started.
    for group in ("under_65", "never"):
        a, b = (f[f["group"] == group].sort_values(["person_id", "admitted_on", "discharged_on"])
                .reset_index(drop=True) for f in (none, half))  # fmt: skip
        assert len(a) > 500 and a.equals(b), group


@pytest.mark.unit
def test_a_ratio_above_1_adds_admissions_of_65s_at_started_practices_only():
    """Added admissions fall on days the person is 65 and the team has started, so the
    economy realises the ratio and nobody else's admissions change."""
    same = {"people": 20_000, "years": 3, "seed": 3}
    none = _emergency_admissions(SynthConfig(**same, area_effect=1.0))
    more = _emergency_admissions(SynthConfig(**same, area_effect=1.5))
    n_none = (none["group"] == "reached").sum()
    n_more = (more["group"] == "reached").sum()
    # Each admission brings another with probability 0.5: sd sqrt(0.25 / n) of the ratio.
    assert n_none > 500
    assert n_more / n_none == pytest.approx(1.5, abs=4 * np.sqrt(0.25 / n_none))
    for group in ("under_65", "never"):
        a, b = (f[f["group"] == group].sort_values(["person_id", "admitted_on", "discharged_on"])
                .reset_index(drop=True) for f in (none, more))  # fmt: skip
        assert len(a) > 500 and a.equals(b), group


@pytest.mark.unit
def test_area_effect_is_validated_like_the_programme_effect():
    assert SynthConfig().area_effect == 0.85
    assert SynthConfig().with_area_effect(1.0).area_effect == 1.0
    assert SynthConfig().as_dict()["area_effect"] == 0.85
    for bad in (0.0, 2.5):
        with pytest.raises(ValueError, match="area_effect must be a rate ratio"):
            SynthConfig(area_effect=bad)


@pytest.mark.unit
def test_synth_command_refuses_an_area_effect_out_of_range(tmp_path):
    result = CliRunner().invoke(
        app, ["synth", "-n", "300", "-y", "1", "--area-effect", "3", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "Invalid value for '--area-effect'" in result.output
    assert "less than or equal to 2" in result.output
    assert not (tmp_path / "truth.json").exists()


@pytest.mark.integration
def test_synth_command_plants_the_area_effect_asked_for(tmp_path):
    result = CliRunner().invoke(
        app, ["synth", "-n", "300", "-y", "1", "--area-effect", "1.3", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["settings"]["area_effect"] == 1.3
    assert truth["programmes"][PROGRAMME]["emergency_admissions_65plus_rate_ratio"] == 1.3
