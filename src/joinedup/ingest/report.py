"""The load report: per file, read = accepted + quarantined and the commonest reasons.

Printed by `joinedup ingest`; ``--report FILE.md`` or ``FILE.csv`` also writes it.
"""

from __future__ import annotations

import csv
from pathlib import Path

from joinedup.ingest.pipeline import FileReport

COLUMNS = ["file", "table", "status", "reader", "rows_read", "rows_accepted",
           "rows_quarantined", "batches", "person_key", "rows_linked", "top_reasons"]  # fmt: skip


def rows(reports: list[FileReport], top: int = 3) -> list[dict]:
    """One dict per file, with the ``top`` commonest reasons as 'n x reason; ...'."""
    return [
        {
            "file": r.path,
            "table": r.table,
            "status": r.status,
            "reader": r.reader,
            "rows_read": r.rows_read,
            "rows_accepted": r.rows_accepted,
            "rows_quarantined": r.rows_quarantined,
            "batches": " ".join(b.batch_id for b in r.batches),
            "person_key": r.person_key or "",
            "rows_linked": r.rows_linked,
            "top_reasons": "; ".join(f"{n} x {reason}" for reason, n in r.top_reasons(top)),
        }
        for r in reports
    ]


def markdown(reports: list[FileReport]) -> str:
    """The report as a Markdown document: a table of files, then the reasons per file."""
    total = {k: sum(getattr(r, k) for r in reports)
             for k in ("rows_read", "rows_accepted", "rows_quarantined")}  # fmt: skip
    lines = [
        "# Load report",
        "",
        f"{len(reports)} files: read {total['rows_read']:,} = accepted "
        f"{total['rows_accepted']:,} + quarantined {total['rows_quarantined']:,}",
        "",
        "| file | table | status | read | accepted | quarantined | batches |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for r in rows(reports):
        lines.append(
            f"| {_cell(r['file'])} | {r['table']} | {r['status']} | {r['rows_read']:,} | "
            f"{r['rows_accepted']:,} | {r['rows_quarantined']:,} | {r['batches']} |"
        )
    for rep in reports:
        reasons = rep.top_reasons(10)
        if rep.status == "skipped":
            lines += ["", f"## {rep.path}", "", rep.message]
            continue
        if rep.status == "unchanged" or not (reasons or rep.key_note):
            continue
        lines += ["", f"## {rep.path}"]
        if rep.key_note:
            lines += ["", rep.key_note[0].upper() + rep.key_note[1:] + "."]
        if reasons:
            lines += ["", "| records | reason |", "|---:|---|"]
            lines += [f"| {n:,} | {_cell(reason)} |" for reason, n in reasons]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write(reports: list[FileReport], path: Path) -> None:
    """Write the report as Markdown (``.md``) or CSV (any other suffix)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".md", ".markdown"):
        path.write_text(markdown(reports))
        return
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows(reports))
