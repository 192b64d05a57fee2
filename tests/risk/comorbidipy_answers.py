"""comorbidipy 0.8's answers on fixed inputs, kept as text in tests/risk/comorbidipy/, so
that test_against_comorbidipy.py compares joinedup with comorbidipy on every machine:
comorbidipy 0.8 needs Python 3.13, which a fresh Debian 12 (Python 3.11) does not have.

Where the oracle is installed (.venv-oracle, made by scripts/setup-oracles.sh) the tests run
it as well and demand that it still gives exactly the stored answers. To regenerate them
(after changing the inputs, or for a new comorbidipy), on a machine with the oracle:

    scripts/setup-oracles.sh
    .venv/bin/python tests/risk/comorbidipy_answers.py

The files:

- ``diagnoses.csv``: the fixed inputs, one person a line: ``id``, then the person's ICD-10
  codes (clean: upper case, no dot) separated by spaces. They were drawn once with
  ``joinedup.risk.sample.random_diagnoses(3000, rows_per_person=6, seed=20260523)`` (mostly
  codes from the score code lists, so every category and hierarchy rule is hit) and are
  read from this file ever since, so a change to the code lists does not change them.
- ``<answer>.csv``, one per entry of :data:`ANSWERS`: comorbidipy's result, one person a
  line: ``id``, the score, and either the categories comorbidipy flagged (its own column
  names, separated by spaces; every other category is 0) or the HFRS band. The header
  names the comorbidipy, polars and Python versions, the call and the SHA-256 of the
  input, which :func:`stored` checks.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
FOLDER = Path(__file__).with_name("comorbidipy")
ORACLE_PYTHON = ROOT / ".venv-oracle" / "bin" / "python"
RUNNER = Path(__file__).with_name("comorbidipy_runner.py")
COMMAND = ".venv/bin/python tests/risk/comorbidipy_answers.py"

#: answer file -> (input, score given to comorbidipy_runner.py)
ANSWERS: dict[str, tuple[str, str]] = {
    "charlson": ("diagnoses", "charlson"),
    "charlson_quan2011": ("diagnoses", "charlson_quan2011"),
    "elixhauser_vw": ("diagnoses", "elixhauser_vw"),
    "hfrs": ("diagnoses", "hfrs"),
    "hfrs_three_character": ("three_character", "hfrs"),
}
#: The call comorbidipy_runner.py makes for each score (for the file headers).
CALLS = {
    "charlson": 'comorbidity(score="charlson", weighting="charlson", variant="quan", '
    'icd="icd10", assign0=True)',
    "charlson_quan2011": 'comorbidity(score="charlson", weighting="quan", variant="quan", '
    'icd="icd10", assign0=True)',
    "elixhauser_vw": 'comorbidity(score="elixhauser", weighting="van_walraven", '
    'variant="quan", icd="icd10", assign0=True)',
    "hfrs": "hfrs()",
}


def diagnoses() -> pd.DataFrame:
    """The fixed (id, code) rows, in their stored order."""
    people = pd.read_csv(FOLDER / "diagnoses.csv", comment="#", dtype={"id": "int64"})
    rows = people.assign(code=people["codes"].str.split(" ")).explode("code")
    return rows[["id", "code"]].astype({"code": str}).reset_index(drop=True)


def three_character(rows: pd.DataFrame) -> pd.DataFrame:
    """The HFRS input on 3-character codes: every code cut to 3 characters, plus one
    person in the high band (22.8 points), whom random people rarely reach."""
    three = rows.assign(code=rows["code"].str[:3])
    frail = pd.DataFrame({"id": 99_999, "code": ["F00", "G81", "G30", "I69", "R29"]})
    return pd.concat([three, frail], ignore_index=True)


def inputs(name: str) -> pd.DataFrame:
    """An input by its name in :data:`ANSWERS`."""
    rows = diagnoses()
    return rows if name == "diagnoses" else three_character(rows)


def fingerprint(rows: pd.DataFrame) -> str:
    """SHA-256 of the rows as CSV: which input an answer was made from."""
    return hashlib.sha256(rows.to_csv(index=False).encode()).hexdigest()


def run_oracle(rows: pd.DataFrame, score: str, folder: Path) -> pd.DataFrame:
    """comorbidipy's result for ``rows``, one row per id, sorted by id (needs the oracle)."""
    source, target = folder / f"in-{score}.parquet", folder / f"out-{score}.parquet"
    rows.to_parquet(source, index=False)
    subprocess.run(
        [str(ORACLE_PYTHON), str(RUNNER), str(source), score, str(target)],
        check=True,
        capture_output=True,
        text=True,
    )
    return pd.read_parquet(target).sort_values("id").reset_index(drop=True)


def _header(path: Path) -> dict[str, str]:
    fields = {}
    with path.open() as f:
        for line in f:
            if not line.startswith("#"):
                break
            key, _, value = line[1:].strip().partition(": ")
            fields[key] = value
    return fields


def stored(answer: str) -> pd.DataFrame:
    """comorbidipy's stored result for ``answer``, in the columns comorbidipy gives, one
    row per id, sorted by id. Refuses an answer made from other inputs."""
    source, _ = ANSWERS[answer]
    path = FOLDER / f"{answer}.csv"
    header = _header(path)
    made_from = fingerprint(inputs(source))
    if header["input sha256"] != made_from:
        raise AssertionError(
            f"{path} was made from other inputs than {source} gives now: regenerate it "
            f"with `{COMMAND}` where Python 3.13 is available"
        )
    table = pd.read_csv(path, comment="#", keep_default_na=False)
    if "hfrs_category" in table.columns:
        return table
    out = table[["id"]].copy()
    flagged = table["flagged"].str.split(" ")
    for name in header["categories"].split(" "):
        out[name] = flagged.map(lambda f, name=name: int(name in f))
    out["comorbidity_score"] = table["comorbidity_score"].astype(float)
    return out


def same(stored: pd.DataFrame, live: pd.DataFrame) -> None:
    """Fail unless the oracle's ``live`` result is the ``stored`` one (scores to 1e-9)."""
    pd.testing.assert_frame_equal(
        stored, live[stored.columns], check_dtype=False, check_exact=False, rtol=0, atol=1e-9
    )


def _versions() -> str:
    code = (
        "import importlib.metadata as m, platform; "
        "print(m.version('comorbidipy'), m.version('polars'), platform.python_version())"
    )
    out = subprocess.run([str(ORACLE_PYTHON), "-c", code], capture_output=True, text=True)
    comorbidipy, polars, python = out.stdout.split()
    return f"comorbidipy {comorbidipy} (polars {polars}, Python {python})"


def write(folder: Path) -> None:
    """Write every answer file from the oracle's results on the stored inputs."""
    versions = _versions()
    for answer, (source, score) in ANSWERS.items():
        rows = inputs(source)
        result = run_oracle(rows, score, folder)
        head = [
            f"made by: {COMMAND} ({date.today().isoformat()})",
            f"oracle: {versions}, {CALLS[score]} through tests/risk/comorbidipy_runner.py",
            f"input: {source}(): diagnoses.csv"
            + ("" if source == "diagnoses" else ", codes cut to 3 characters, one person added"),
            f"input sha256: {fingerprint(rows)}",
        ]
        if score == "hfrs":
            # comorbidipy sums the weights in no fixed order: the last bits vary by run.
            body = result[["id", "hfrs_score", "hfrs_category"]].round({"hfrs_score": 9})
        else:
            categories = sorted(set(result.columns) - {"id", "comorbidity_score"})
            assert result[categories].isin([0, 1]).all().all(), "flags other than 0/1"
            flagged = [
                " ".join(c for c, flag in zip(categories, row, strict=True) if flag == 1)
                for row in result[categories].itertuples(index=False)
            ]
            body = pd.DataFrame(
                {
                    "id": result["id"],
                    "comorbidity_score": result["comorbidity_score"],
                    "flagged": flagged,
                }
            )
            head.append(f"categories: {' '.join(categories)}")
        text = "".join(f"# {line}\n" for line in head) + body.to_csv(index=False)
        (FOLDER / f"{answer}.csv").write_text(text)
        # What was written reads back as what comorbidipy gave.
        back = stored(answer)
        same(back, result)
        print(f"wrote {FOLDER / answer}.csv ({len(body)} people)")


if __name__ == "__main__":
    import tempfile

    if not ORACLE_PYTHON.exists():
        sys.exit("needs the oracle: run scripts/setup-oracles.sh (Python 3.13) first")
    with tempfile.TemporaryDirectory() as tmp:
        write(Path(tmp))
