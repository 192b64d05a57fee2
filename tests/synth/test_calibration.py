"""The default economy reproduces every published England figure within its tolerance."""

from __future__ import annotations

import json

import duckdb
import pytest

from joinedup.synth.calibration import compare, compute_figures, load_reference

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_every_reference_figure_is_within_tolerance(economy):
    checks = compare(compute_figures(economy.warehouse_path))
    # Every figure of the reference file is measured (none silently missing).
    reference = load_reference()
    n_expected = sum(
        len(v) if isinstance(v, dict) and "value" not in v else 1
        for section, items in reference.items()
        if not section.startswith("unit_costs")
        for v in items.values()
    )
    assert len(checks) == n_expected
    out = [f"{c.name}: {c.value:.4g} vs {c.reference:.4g} ±{c.tolerance:.0%}" for c in checks
           if not c.within]  # fmt: skip
    assert not out, "outside tolerance:\n" + "\n".join(out)


def test_truth_names_the_programme_recorded_in_the_warehouse(economy):
    truth = json.loads(economy.truth_path.read_text())
    ratio = truth["programmes"]["telephone_care_management"]["emergency_admissions_rate_ratio"]
    assert ratio == pytest.approx(0.80)
    with duckdb.connect(str(economy.warehouse_path), read_only=True) as con:
        rows = con.execute("SELECT DISTINCT programme FROM programme_enrolment").fetchall()
        names = {r[0] for r in rows}
        (enrolled,) = con.execute("SELECT count(*) FROM programme_enrolment").fetchone()
    assert names == {"telephone_care_management"}
    assert enrolled == truth["programmes"]["telephone_care_management"]["enrolled"] > 1000


def test_footprints_and_practices_have_the_sizes_asked_for(economy):
    with duckdb.connect(str(economy.warehouse_path), read_only=True) as con:
        footprints = con.execute(
            """SELECT pr.footprint_code, count(*) FROM person p
               JOIN practice pr USING (practice_code)
               WHERE p.registered_from <= DATE '2025-10-01' AND p.registered_to IS NULL
               AND p.date_of_death IS NULL GROUP BY ALL"""
        ).fetchall()
        practices = con.execute(
            "SELECT practice_code, count(*) FROM person WHERE registered_to IS NULL "
            "AND date_of_death IS NULL GROUP BY ALL"
        ).fetchall()
        deciles = con.execute(
            "SELECT footprint_code, avg(imd_decile) FROM lsoa GROUP BY ALL"
        ).fetchall()
    assert all(25_000 <= n <= 55_000 for _, n in footprints), footprints
    assert all(2_000 <= n <= 17_000 for _, n in practices), practices
    means = [m for _, m in deciles]
    assert max(means) - min(means) > 3, "footprints should differ in deprivation"


def test_utilisation_is_concentrated_in_few_people(economy):
    with duckdb.connect(str(economy.warehouse_path), read_only=True) as con:
        (share,) = con.execute(
            """WITH per AS (SELECT person_id, count(*) AS n FROM apc_spell
                            WHERE admission_method LIKE '2%' GROUP BY ALL),
                    ranked AS (SELECT n, row_number() OVER (ORDER BY n DESC) AS r FROM per)
               SELECT sum(n) FILTER (WHERE r <= (SELECT count(*) FROM person) * 0.02)
                      / sum(n) FROM ranked"""
        ).fetchone()
    # In England about 2% of people account for roughly a third to a half of emergency
    # admissions; independent coin flips would give far less.
    assert share > 0.25
