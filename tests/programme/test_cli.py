"""`joinedup programme ...` end to end on both backends: the demo, the JSON export
contract, the conflict exit code, Excel export and tracker import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from joinedup.cli import app
from joinedup.programme.errors import TrackerError
from joinedup.programme.exchange import import_tracker
from joinedup.programme.store import open_store

pytestmark = pytest.mark.integration

TODAY = "2026-11-23"
runner = CliRunner()


def run(*args: str, code: int = 0):
    result = runner.invoke(app, ["programme", *args])
    assert result.exit_code == code, result.output
    return result


def test_demo_export_and_conflict(store_url: str) -> None:
    run("demo", "--db", store_url, "--today", TODAY)
    data = json.loads(run("export", "--db", store_url, "--format", "json", "--today", TODAY).stdout)
    for key in ("workstreams", "criteria", "proposals", "innovations", "standards", "risks",
                "decisions"):  # fmt: skip
        assert data[key], key
    names = {w["name"] for w in data["workstreams"]}
    assert names == {
        "Stroke", "Frail older people", "Diabetes", "COPD", "Lower back pain",
        "Unscheduled care", "End of life", "Maternity and children",
    }  # fmt: skip
    for w in data["workstreams"]:
        assert w["clinical_lead"] and w["managerial_buddy"] and w["executive_lead"]
        assert w["priority"] in (1, 2, 3)
        assert w["milestones"] and all("due" in m and "rag" in m for m in w["milestones"])
    assert len(data["criteria"]) == 7
    assert sorted(p["rank"] for p in data["proposals"])[0] == 1
    assert {i["stage"] for i in data["innovations"]} == {
        "idea", "pilot", "evaluated", "scaled", "decommissioned",
    }  # fmt: skip
    pooled = next(d for d in data["decisions"] if d["needs_partner_governance"])
    assert {r["response"] for r in pooled["responses"]} >= {"agreed", "pending"}

    stroke = next(w for w in data["workstreams"] if w["code"] == "STR")
    milestone = stroke["milestones"][1]
    mid, version = str(milestone["id"]), milestone["version"]
    ok = run("milestone", "update", mid, "--status", "at_risk", "--expected-version",
             str(version), "--db", store_url, "--user", "pm")  # fmt: skip
    assert f"version {version + 1}" in ok.stdout
    stale = run("milestone", "update", mid, "--status", "complete", "--expected-version",
                str(version), "--db", store_url, code=3)  # fmt: skip
    assert "conflict" in stale.stderr and f"not {version}" in stale.stderr
    history = run("history", "--db", store_url, "--entity", "milestone", "--id", mid).stdout
    assert "pm" in history and "at_risk" in history
    # Partners' governance: the council's cabinet agrees the pooled budget.
    pid = str(pooled["id"])
    waiting = json.loads(run("decisions", "--db", store_url, "--json").stdout)
    assert [d["responses"]["NBC"] for d in waiting if d["id"] == pooled["id"]] == ["pending"]
    run("respond", pid, "--partner", "NBC", "--response", "agreed", "--body", "Cabinet",
        "--db", store_url)  # fmt: skip
    waiting = json.loads(run("decisions", "--db", store_url, "--json").stdout)
    assert pooled["id"] not in [d["id"] for d in waiting]
    # Sign-off: the mental health trust signs; signing twice is refused.
    sign = ("sign", "Our Commitment", "--partner", "NBMH", "--by", "A Chair", "--body", "Board",
            "--on", TODAY, "--db", store_url)  # fmt: skip
    run(*sign)
    assert "already signed" in run(*sign, code=1).stderr
    after = json.loads(run("export", "--db", store_url).stdout)
    signed = {s["partner"] for s in after["commitments"][0]["signoffs"]}
    assert signed == {"NBICB", "NBH", "NBCH", "NBC", "NBGP", "NBMH"}
    # Loading the demo twice is refused with a message, not a traceback.
    again = run("demo", "--db", store_url, code=1)
    assert "already holds a partnership" in again.stderr


def test_excel_round_trip(tmp_path: Path) -> None:
    source, target = f"sqlite:///{tmp_path / 'a.sqlite'}", f"sqlite:///{tmp_path / 'b.sqlite'}"
    run("demo", "--db", source, "--today", TODAY)
    book = tmp_path / "programme.xlsx"
    run("export", "--db", source, "--format", "excel", "--out", str(book), "--today", TODAY)
    first = run("import-tracker", str(book), "--db", target).stdout
    assert "workstreams added: 8" in first and "milestones added: 18" in first
    exported = json.loads(run("export", "--db", source, "--today", TODAY).stdout)
    imported = json.loads(run("export", "--db", target, "--today", TODAY).stdout)
    fields = ("code", "name", "clinical_lead", "managerial_buddy", "executive_lead", "priority")

    def summary(data: dict) -> list:
        return sorted(
            (*(w[f] for f in fields),
             sorted((m["title"], m["due"], m["status"], m["rag"]) for m in w["milestones"]))
            for w in data["workstreams"]
        )  # fmt: skip

    assert summary(imported) == summary(exported)
    # Importing again updates in place rather than duplicating.
    second = run("import-tracker", str(book), "--db", target).stdout
    assert "workstreams added: 0, workstreams updated: 0" in second
    assert "milestones added: 0, milestones updated: 0" in second


def test_tracker_problems_name_sheet_row_and_column(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "Workstreams"
    sheet.append(["Code", "Name", "Priority", "Clinical lead"])
    sheet.append(["STR", "Stroke", 1, "Dr A"])
    sheet.append(["DIA", None, 2, "Dr B"])
    sheet.append(["COPD", "COPD", 9, None])
    milestones = book.create_sheet("Milestones")
    milestones.append(["Workstream", "Title", "Due", "Status"])
    milestones.append(["STR", "Go live", "2027-03-31", "in progress"])
    milestones.append(["XYZ", "Nowhere", "2027-03-31", None])
    milestones.append(["STR", "Review", "next spring", None])
    milestones.append(["STR", "Audit", "2027-05-01", "finished"])
    path = tmp_path / "tracker.xlsx"
    book.save(path)
    store = open_store(f"sqlite:///{tmp_path / 'p.sqlite'}")
    with pytest.raises(TrackerError) as caught, store.session() as s:
        import_tracker(s, path)
    problems = caught.value.problems
    assert problems == [
        "tracker.xlsx, sheet Workstreams, row 3: columns code and name are required",
        "tracker.xlsx, sheet Workstreams, row 4: workstream priority 9 is outside 1 to 5",
        "tracker.xlsx, sheet Milestones, row 3, column workstream: no workstream with code or "
        "name 'XYZ'",
        "tracker.xlsx, sheet Milestones, row 4, column due: 'next spring' is not a date "
        "(expected YYYY-MM-DD or an Excel date)",
        "tracker.xlsx, sheet Milestones, row 5: milestone status 'finished' is not one of: "
        "not_started, in_progress, at_risk, blocked, complete, cancelled",
    ]
    with store.session() as s:  # nothing was written
        from joinedup.programme.service import workstreams

        assert workstreams(s) == []
    store.close()


def test_init_upgrades_an_old_store_and_bad_urls_are_explained(tmp_path: Path) -> None:
    from joinedup.programme.store import make_engine, migrate

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = make_engine(url)
    migrate(engine, "0001")
    engine.dispose()
    assert "migrated 0001 -> 0004" in run("init", "--db", url).stdout
    assert "up to date (revision 0004)" in run("migrate", "--db", url).stdout
    bad = run("workstreams", "--db", "mysql://x@localhost/db", code=1)
    assert "runs on sqlite or postgresql, not mysql" in bad.stderr
