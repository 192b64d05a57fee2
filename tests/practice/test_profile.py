"""Practice profile: list size, prevalence against expected, peers (checked in SQL)."""

from __future__ import annotations

import pytest

from joinedup.practice.profile import practice_profile, practice_table
from joinedup.warehouse import open_warehouse

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def wh(small_economy):
    w = open_warehouse(small_economy.warehouse_path, read_only=True)
    yield w
    w.close()


@pytest.fixture(scope="module")
def profiles(wh):
    codes = [r[0] for r in wh.raw.execute("SELECT practice_code FROM practice").fetchall()]
    return {c: practice_profile(wh, c) for c in codes}


def test_list_size_and_pyramid_match_sql(wh, profiles) -> None:
    code, p = next(iter(profiles.items()))
    when = p.as_of
    n = wh.raw.execute(
        """SELECT count(*) FROM person WHERE practice_code = ?
           AND (registered_from IS NULL OR registered_from <= ?)
           AND (registered_to IS NULL OR registered_to > ?)
           AND (date_of_death IS NULL OR date_of_death > ?)""",
        [code, when, when, when],
    ).fetchone()[0]
    assert p.list_size == n > 0
    # F and M only in the pyramid; U (if any) is in the list size.
    assert p.pyramid["people"].sum() <= n
    assert abs(p.pyramid["partnership_share"].sum() - 1) < 1e-9


def test_expected_counts_add_up_to_observed_over_all_practices(profiles) -> None:
    """Indirect standardisation to the partnership's own rates: over every practice,
    expected cases sum to observed cases, condition by condition."""
    import pandas as pd

    allp = pd.concat([p.prevalence.assign(practice=c) for c, p in profiles.items()])
    sums = allp.groupby("condition")[["observed", "expected"]].sum()
    assert len(sums) >= 10
    assert (abs(sums["observed"] - sums["expected"]) < 1e-6 * sums["observed"].clip(lower=1)).all()


def test_expected_for_one_condition_worked_in_sql(wh, profiles) -> None:
    code, p = next(iter(profiles.items()))
    when = p.as_of
    expected = wh.raw.execute(
        """
        WITH reg AS (
            SELECT person_id, practice_code, sex,
                   least(floor((? - year_of_birth) / 5) * 5, 90) AS band
            FROM person
            WHERE (registered_from IS NULL OR registered_from <= ?)
              AND (registered_to IS NULL OR registered_to > ?)
              AND (date_of_death IS NULL OR date_of_death > ?)
        ), dx AS (
            SELECT DISTINCT person_id FROM condition
            WHERE condition = 'diabetes' AND recorded_on <= ?
        ), rates AS (
            SELECT band, sex, avg((dx.person_id IS NOT NULL)::DOUBLE) AS rate
            FROM reg LEFT JOIN dx USING (person_id) GROUP BY ALL
        )
        SELECT sum(rate) FROM reg JOIN rates USING (band, sex) WHERE practice_code = ?
        """,
        [when.year, when, when, when, when, code],
    ).fetchone()[0]
    row = p.prevalence.set_index("condition").loc["diabetes"]
    assert row["expected"] == pytest.approx(expected, rel=1e-9)


def test_peers_are_the_nearest_other_practices(wh, profiles) -> None:
    code, p = next(iter(profiles.items()))
    assert code not in p.peer_codes
    assert list(p.peers["distance"]) == sorted(p.peers["distance"])
    table = practice_table(wh, p.as_of)
    assert len(p.peers) == min(10, len(table) - 1)
