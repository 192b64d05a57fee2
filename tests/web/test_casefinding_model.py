"""Case finding from the risk model, and the population and risk page.

A second small economy (5,000 people, three years: the risk model needs a training, a
validation and a scoring year) with a quickly trained model in ``risk-model`` beside
its warehouse, where ``joinedup demo`` puts it. The lists are checked against the top
2% worked out here from the model's predictions, and against ``case_finding_list`` run
on a connection of its own; the fallback against the conftest economy, which has no
model.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from joinedup.access.roles import ROLES

from .conftest import PASSWORD, sign_in

pytestmark = pytest.mark.integration


@dataclass
class ModelEnv:
    """An app over an economy with a trained risk model."""

    app: object
    warehouse: Path
    model_dir: Path
    validation: pd.DataFrame  # the training run's validation year (risk, admitted)
    practice: str  # the clinician's practice: the longest list
    clients: dict


@pytest.fixture(scope="module")
def model_env(tmp_path_factory: pytest.TempPathFactory):
    from fastapi.testclient import TestClient

    from joinedup.access.accounts import add_user
    from joinedup.risk.model import train
    from joinedup.synth import SynthConfig, build
    from joinedup.warehouse import open_warehouse
    from joinedup.web.app import create_app
    from joinedup.web.config import WebSettings

    folder = tmp_path_factory.mktemp("web-model")
    result = build(SynthConfig(people=5000, years=3, seed=11), folder / "economy")
    model_dir = result.warehouse_path.parent / "risk-model"
    with open_warehouse(result.warehouse_path, read_only=True) as wh:
        trained = train(wh, model_dir, rounds=60)
    settings = WebSettings(
        warehouse=result.warehouse_path,
        programme_db=f"sqlite:///{folder / 'programme.sqlite'}",
        login_attempts_per_minute=10_000,
    )
    assert settings.risk_model == model_dir  # found where the demo writes it
    app = create_app(settings)
    data = app.state.figures
    lengths = {p: len(data.casefinding(p)) for p in data.practices()["practice_code"]}
    practice = max(sorted(lengths), key=lambda p: lengths[p])
    assert lengths[practice] > 0
    clients = {}
    for role in ROLES:
        org = practice if role == "clinician" else "QWE"
        add_user(app.state.accounts, role, role, org, PASSWORD)
        c = TestClient(app, base_url="https://testserver")
        assert sign_in(c, role).status_code == 303
        clients[role] = c
    yield ModelEnv(app, result.warehouse_path, model_dir, trained.validation, practice, clients)
    for c in clients.values():
        c.close()
    data.close()


def _registered_end(warehouse: Path) -> tuple[pd.DataFrame, pd.Timestamp, set[str]]:
    """People registered and alive at the day after the last admission or A&E arrival
    (the scoring date), that date, and who is enrolled in a programme then: plain SQL."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        end = con.execute(
            "SELECT greatest((SELECT max(admitted_on) FROM apc_spell),"
            " (SELECT max(arrived_at)::DATE FROM ae_attendance)) + 1"
        ).fetchone()[0]
        people = con.execute(
            """SELECT p.person_id, p.practice_code, pr.footprint_code FROM person p
               JOIN practice pr USING (practice_code)
               WHERE p.registered_from <= ? AND (p.registered_to IS NULL OR p.registered_to > ?)
                 AND (p.date_of_death IS NULL OR p.date_of_death > ?)""",
            [end, end, end],
        ).df()
        enrolled = {
            r[0]
            for r in con.execute(
                "SELECT person_id FROM programme_enrolment WHERE enrolled_on <= ?"
                " AND (left_on IS NULL OR left_on > ?)",
                [end, end],
            ).fetchall()
        }
    return people, pd.Timestamp(end), enrolled


def test_list_is_the_top_two_percent_worked_out_independently(model_env) -> None:
    """Every practice's list: its registered patients among the population's top 2% by
    the model's predicted risk, not enrolled in a programme, highest risk first."""
    from joinedup.risk.features import person_features
    from joinedup.risk.model import RiskModel
    from joinedup.warehouse import open_warehouse

    people, end, enrolled = _registered_end(model_env.warehouse)
    model = RiskModel.load(model_env.model_dir)
    with open_warehouse(model_env.warehouse, read_only=True) as wh:
        x = person_features(wh, end.date()).to_pyarrow().to_pandas()
    assert set(x["person_id"]) == set(people["person_id"])
    risk = pd.Series(model.predict(x), index=x["person_id"])
    k = round(0.02 * len(risk))
    cut = risk.sort_values(ascending=False).iloc[k - 1]  # the k-th highest risk
    # Above the cut: on the list. At it (a tie across the cut): either way. Ties are
    # broken by the order rows come back from the warehouse, which is not fixed.
    practice_of = people.set_index("person_id")["practice_code"]
    data = model_env.app.state.figures
    total = 0
    for practice in data.practices()["practice_code"]:
        mine = risk[(practice_of[risk.index] == practice).to_numpy()]
        # The practice's level 3 count (enrolled people included), unless suppressed.
        level3 = data.casefinding_tiers(practice)[0]
        assert level3["tier"] == 3
        if level3["people"] is not None:
            assert (mine > cut).sum() <= level3["people"] <= (mine >= cut).sum()
            assert level3["people"] > 7
        mine = mine[~mine.index.isin(enrolled)]
        sure, tied = set(mine.index[mine > cut]), set(mine.index[mine == cut])
        got = data.casefinding(practice)
        ids = set(got["person_id"])
        assert sure <= ids <= sure | tied, practice
        assert np.allclose(got["risk_percent"], (100 * risk[got["person_id"]]).round(1))
        in_order = risk[got["person_id"]].to_numpy()
        assert (np.diff(in_order) <= 0).all(), f"{practice}: not highest risk first"
        total += len(got)
    assert 0 < total <= k


def test_list_equals_case_finding_list_on_its_own_connection(model_env) -> None:
    from joinedup.risk.casefind import ListFilters, case_finding_list
    from joinedup.risk.model import RiskModel, score_people
    from joinedup.warehouse import open_warehouse

    model = RiskModel.load(model_env.model_dir)
    with open_warehouse(model_env.warehouse, read_only=True) as wh:
        scored = score_people(wh, model)
        expected = case_finding_list(wh, model, scored, ListFilters(practice=model_env.practice))
    got = model_env.app.state.figures.casefinding(model_env.practice)
    # Compared person by person: people with equal risk may come in either order, and
    # their population rank with them (see the test above).
    got, expected = got.set_index("person_id"), expected.set_index("person_id")
    assert set(got.index) == set(expected.index)
    for ours, theirs in (
        ("risk_percent", "risk_percent"),
        ("age_band", "age_band"),
        ("sex", "sex"),
        ("segment", "segment_name"),
        ("long_term_conditions", "ltc_count"),
        ("emergency_admissions", "emergency_admissions"),
        ("reason", "reasons"),
    ):
        assert got[ours].to_dict() == expected[theirs].to_dict(), ours


def test_api_and_page_show_the_model_list(model_env) -> None:
    analyst = model_env.clients["analyst"]
    body = analyst.get(f"/api/casefinding?practice={model_env.practice}").json()
    assert body["source"] == "risk_model" and body["method"].startswith("Risk model")
    assert not body["identifiable"]
    first = body["patients"][0]
    assert {
        "person_id", "risk_percent", "age", "age_band", "sex", "segment",
        "long_term_conditions", "emergency_admissions", "reason",
    } <= set(first)  # fmt: skip
    assert "nhs_number" not in first and first["reason"]
    risks = [p["risk_percent"] for p in body["patients"]]
    assert risks == sorted(risks, reverse=True)

    clinician = model_env.clients["clinician"]
    page = clinician.get("/casefinding?reason=test of the model list")
    assert page.status_code == 200
    assert "Predicted risk of an emergency admission" in page.text
    assert "Interim list" not in page.text
    for p in body["patients"]:
        assert f"{p['risk_percent']:.1f}%" in page.text
    audit = model_env.clients["ig_lead"].get("/api/audit?q=test of the model list").json()
    assert {e["person_id"] for e in audit["entries"]} == {p["person_id"] for p in body["patients"]}


def test_no_model_falls_back_to_the_interim_list(web_env, clients) -> None:
    data = web_env.app.state.figures
    assert data.risk_model() is None
    assert data.risk_model_problem == "no trained risk model was found"
    listing = data.casefinding(web_env.practice)
    assert len(listing) > 0 and listing["risk_percent"].isna().all()
    admissions = list(listing["emergency_admissions"])
    assert admissions == sorted(admissions, reverse=True) and min(admissions) >= 1
    body = clients["analyst"].get(f"/api/casefinding?practice={web_env.practice}").json()
    assert body["source"] == "interim" and body["method"].startswith("Interim ranking")
    page = clients["analyst"].get(f"/casefinding?practice={web_env.practice}")
    assert "Interim list" in page.text and "joinedup risk train" in page.text
    pop = clients["board"].get("/population")
    assert pop.status_code == 200 and "Bridges to Health segments" in pop.text
    assert "Kaiser Permanente pyramid" not in pop.text and "joinedup risk train" in pop.text


def test_a_model_for_other_features_falls_back(model_env, tmp_path) -> None:
    from joinedup.published import Figures

    bad = tmp_path / "risk-model"
    shutil.copytree(model_env.model_dir, bad)
    meta = json.loads((bad / "model.json").read_text())
    meta["features"] = meta["features"][:-1]
    (bad / "model.json").write_text(json.dumps(meta))
    data = Figures(model_env.warehouse, risk_model=bad, cache=False)
    try:
        assert data.risk_model() is None
        assert "other features" in data.casefinding_method()
        assert data.casefinding(model_env.practice)["risk_percent"].isna().all()
    finally:
        data.close()


def _auroc_by_pairs(y: np.ndarray, p: np.ndarray) -> float:
    """Share of (admitted, not admitted) pairs the score orders right, ties half."""
    pos, neg = p[y == 1], p[y == 0]
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def test_population_page_with_the_model(model_env) -> None:
    people, _end, _enrolled = _registered_end(model_env.warehouse)
    n = len(people)
    page = model_env.clients["board"].get("/population")
    assert page.status_code == 200
    text = page.text
    # The Kaiser pyramid: level 3 is the top 2% of everyone registered.
    assert "Kaiser Permanente pyramid: the partnership" in text
    assert f"{round(0.02 * n):,} people ({100 * round(0.02 * n) / n:.1f}%)" in text
    assert "<svg" in text and 'role="img"' in text
    # Tier counts add up to the registered population (none hidden at this size).
    tiers = model_env.app.state.figures.segments("tier")
    whole = tiers[tiers["footprint_code"] == "ALL"]
    assert int(whole["people"].sum()) == n
    # The model card: AUROC and calibration of the validation year, worked out here.
    v = model_env.validation
    y, p = v["admitted"].to_numpy(), v["risk"].to_numpy()
    assert f"{_auroc_by_pairs(y, p):.3f} (" in text
    assert f"{100 * y.mean():.1f}%" in text and f"{100 * p.mean():.1f}%" in text
    assert 'src="data:image/png;base64,' in text
    # The footprint tables' people counts: none from 1 to 7.
    shown = re.findall(r'<td class="app-numeric">([\d,]+) <span class="nhsuk-body-s">', text)
    assert len(shown) == 2 * (8 + 3)  # one footprint and the partnership column
    assert not [s for s in shown if 1 <= int(s.replace(",", "")) <= 7]


def test_overview_shows_the_segment_pyramid_with_a_model(model_env, web_env, clients) -> None:
    page = model_env.clients["board"].get("/overview")
    assert page.status_code == 200
    assert "Need: the Kaiser Permanente pyramid" in page.text
    people, _end, _enrolled = _registered_end(model_env.warehouse)
    assert f"{round(0.02 * len(people)):,} people" in page.text
    # Without a model the overview has no segment pyramid (and says nothing false).
    assert "Kaiser Permanente pyramid" not in clients["board"].get("/overview").text


def test_population_api_matches_the_page(model_env) -> None:
    people, _end, _enrolled = _registered_end(model_env.warehouse)
    r = model_env.clients["analyst"].get("/api/population")
    assert r.status_code == 200
    body = r.json()
    whole = [t for t in body["tiers"] if t["footprint_code"] == "ALL"]
    assert sum(t["people"] for t in whole) == len(people)
    v = model_env.validation
    auroc = _auroc_by_pairs(v["admitted"].to_numpy(), v["risk"].to_numpy())
    assert any(abs(c["auroc"] - auroc) < 5e-4 for c in body["model_card"]["comparison"])
    assert body["problem"] is None
    counts = [x["people"] for x in body["segments"] + body["tiers"]]
    assert not [c for c in counts if c is not None and 1 <= c <= 7]


def test_population_page_suppresses_small_counts(model_env, monkeypatch) -> None:
    """Three people in segment 3: hidden, with a second cell in each margin."""
    data = model_env.app.state.figures
    fp = data.population()["footprints"][0]["footprint_code"]
    segments = [1] * 500 + [4] * 200 + [3] * 3 + [8] * 40
    fake = pd.DataFrame(
        {
            "person_id": [f"p{i}" for i in range(len(segments))],
            "footprint_code": fp,
            "segment": segments,
            "emergency_admissions": 1,
            "emergency_bed_days": 2,
            "ae_attendances": 0,
            "cost": 100.0,
            "index_date": pd.Timestamp("2026-01-01"),
        }
    )
    from joinedup.published.store import FigureStore

    # Figures kept nowhere (neither in memory nor on disk), people made up.
    monkeypatch.setattr(data, "store", FigureStore(None, "test"))
    monkeypatch.setattr(data, "people", lambda: fake)
    text = model_env.clients["analyst"].get("/population").text
    row = re.search(r"<tr><td>3\. Acutely ill, likely to recover</td>(.*?)</tr>", text, re.S)
    assert row and row.group(1).count(">*<") >= 3  # people, share, rates all hidden
    # Secondary: the next smallest non-zero segment (40 people) is hidden too, so the
    # 3 cannot be had from the footprint's total of 743.
    row8 = re.search(r"<tr><td>8\. Long period of decline.*?</td>(.*?)</tr>", text, re.S)
    assert ">*<" in row8.group(1) and ">40<" not in row8.group(1)
    assert ">500<" in text and ">200<" in text and ">3<" not in text


def test_segment_table_protects_both_margins() -> None:
    """A hand-worked two-footprint table: A has 3 people in segment 3."""
    from joinedup.risk.segments import segment_summary

    cells = {("A", 1): 100, ("A", 4): 50, ("A", 3): 3, ("B", 1): 80, ("B", 4): 40, ("B", 3): 20}
    rows = [(fp, seg) for (fp, seg), k in cells.items() for _ in range(k)]
    people = pd.DataFrame(rows, columns=["footprint_code", "segment"]).assign(
        person_id=lambda f: [f"p{i}" for i in range(len(f))],
        emergency_admissions=0,
        emergency_bed_days=0,
        ae_attendances=0,
        cost=0.0,
    )
    t = segment_summary(people, "footprint").frame.set_index(["footprint_code", "segment"])
    hidden = {i for i, v in t["people"].items() if pd.isna(v)}
    assert ("A", 3) in hidden
    assert t.loc[("ALL", 1), "people"] == 180 and t.loc[("ALL", 3), "people"] == 23
    assert t.loc[("A", 2), "people"] == 0  # zeros disclose nothing
    # No footprint column and no segment row holds exactly one hidden cell.
    for level in ("footprint_code", "segment"):
        per_group = pd.Series([1] * len(hidden), index=pd.MultiIndex.from_tuples(hidden))
        counts = per_group.groupby(level=0 if level == "footprint_code" else 1).sum()
        assert (counts != 1).all(), level
    # What is derived from a hidden count is hidden with it.
    for cell in hidden:
        assert pd.isna(t.loc[cell, "share_of_people"]) and pd.isna(t.loc[cell, "cost_per_head"])


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_role_sees_the_population_page(model_env, role) -> None:
    c = model_env.clients[role]
    r = c.get("/population")
    assert r.status_code == 200
    assert 'href="/population"' in c.get("/overview").text  # in the navigation


def test_population_page_needs_sign_in(model_env) -> None:
    from fastapi.testclient import TestClient

    with TestClient(model_env.app, base_url="https://testserver") as anon:
        r = anon.get("/population", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_segments_agree_on_every_interface(model_env, tmp_path) -> None:
    """The API, the population page and `joinedup segments` give one segment table (the
    command computes it afresh: no figures store, its own connection)."""
    from typer.testing import CliRunner

    from joinedup.cli import app as cli

    api = model_env.clients["analyst"].get("/api/population").json()
    out = tmp_path / "segments.csv"
    r = CliRunner().invoke(
        cli,
        ["segments", "--by", "footprint", "--out", str(out), "--warehouse",
         str(model_env.warehouse), "--model", str(model_env.model_dir)],
        env={"JOINEDUP_FIGURES_CACHE": str(tmp_path / "fresh")},
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    frame = pd.read_csv(out, dtype={"footprint_code": str})
    for kind, rows in (("segment", api["segments"]), ("tier", api["tiers"])):
        mine = frame[frame["table"] == kind]
        cli_cells = {
            (f, int(k)): (None if pd.isna(p) else int(p), None if pd.isna(c) else round(c, 6))
            for f, k, p, c in zip(mine.footprint_code, mine[kind], mine.people,
                                  mine.cost_per_head, strict=True)
        }  # fmt: skip
        api_cells = {
            (x["footprint_code"], x[kind]): (
                x["people"],
                None if x["cost_per_head"] is None else round(x["cost_per_head"], 6),
            )
            for x in rows
        }
        assert cli_cells == api_cells, kind
    # The page: the partnership's people in each tier, as the API has them.
    text = model_env.clients["analyst"].get("/population").text
    for x in api["tiers"]:
        if x["footprint_code"] == "ALL" and x["people"] is not None:
            assert f"{x['people']:,} people" in text
