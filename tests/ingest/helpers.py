"""Shared helpers for the ingest tests: valid NHS numbers and small extract files."""

from __future__ import annotations

import csv
import random
from pathlib import Path

# Published example of a valid NHS number (NHS Digital's documentation of the check digit).
VALID_EXAMPLE = "9434765919"


def check_digit(nine: str) -> int | None:
    """Modulus 11 check digit written from the NHS Data Dictionary definition."""
    total = 0
    for position, digit in enumerate(nine):
        total += int(digit) * (10 - position)
    remainder = total % 11
    digit = 11 - remainder
    if digit == 11:
        return 0
    if digit == 10:
        return None  # no valid number with these nine digits
    return digit


def nhs_numbers(n: int, seed: int = 1) -> list[str]:
    """``n`` distinct valid NHS numbers."""
    rng = random.Random(seed)
    out: set[str] = set()
    while len(out) < n:
        nine = f"{rng.randrange(400_000_000, 999_999_999):09d}"
        digit = check_digit(nine)
        if digit is not None and len(set(nine + str(digit))) > 1:
            out.add(nine + str(digit))
    return sorted(out)


def invalid_nhs_number(valid: str) -> str:
    """The same number with a wrong check digit."""
    return valid[:9] + str((int(valid[9]) + 1) % 10)


def write_csv(path: Path, header: list[str], rows: list[list], **kwargs) -> Path:
    """Write a CSV (extra keyword arguments go to ``open``/``csv.writer``)."""
    encoding = kwargs.pop("encoding", "utf-8")
    with open(path, "w", newline="", encoding=encoding) as f:
        w = csv.writer(f, **kwargs)
        w.writerow(header)
        w.writerows(rows)
    return path


#: The required columns of an admitted patient care extract, canonical names.
SPELL_HEADER = [
    "spell_id",
    "nhs_number",
    "provider_code",
    "admitted_on",
    "admission_method",
    "patient_classification",
]
#: A HES/SUS-shaped admitted patient care extract with two diagnosis positions.
HES_APC_HEADER = [
    "SUSSPELLID",
    "NEWNHSNO",
    "PROCODE3",
    "ADMIDATE",
    "DISDATE",
    "ADMIMETH",
    "CLASSPAT",
    "DIAG_4_01",
    "DIAG_4_02",
]
