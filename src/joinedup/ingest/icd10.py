"""Which ICD-10 codes exist, as far as a shipped list allows.

The full ICD-10 5th Edition (the UK's) has about 12,000 codes and is licensed; what
joinedup ships is the list of its three-character category blocks by chapter (WHO
ICD-10 2019 / UK 5th Edition), so a code whose category falls outside every block
(``E99``, ``K99``, ``U99``) is rejected while a well-formed code inside a block is
accepted. Blocks that are ranges of existing categories: gaps inside a chapter (for
example D49, a US ICD-10-CM code) are listed explicitly in ``NOT_IN_ICD10``.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

# Chapter blocks (first and last three-character category) and titles, WHO ICD-10 2019.
CHAPTER_TITLES = (
    ("A00", "B99", "I", "Certain infectious and parasitic diseases"),
    ("C00", "D48", "II", "Neoplasms"),
    ("D50", "D89", "III", "Blood and immune mechanism"),
    ("E00", "E90", "IV", "Endocrine, nutritional and metabolic"),
    ("F00", "F99", "V", "Mental and behavioural disorders"),
    ("G00", "G99", "VI", "Nervous system"),
    ("H00", "H59", "VII", "Eye and adnexa"),
    ("H60", "H95", "VIII", "Ear and mastoid process"),
    ("I00", "I99", "IX", "Circulatory system"),
    ("J00", "J99", "X", "Respiratory system"),
    ("K00", "K93", "XI", "Digestive system"),
    ("L00", "L99", "XII", "Skin and subcutaneous tissue"),
    ("M00", "M99", "XIII", "Musculoskeletal system and connective tissue"),
    ("N00", "N99", "XIV", "Genitourinary system"),
    ("O00", "O99", "XV", "Pregnancy, childbirth and the puerperium"),
    ("P00", "P96", "XVI", "Certain conditions originating in the perinatal period"),
    ("Q00", "Q99", "XVII", "Congenital malformations"),
    ("R00", "R99", "XVIII", "Symptoms, signs and abnormal findings"),
    ("S00", "T98", "XIX", "Injury, poisoning"),
    ("V01", "Y98", "XX", "External causes of morbidity and mortality"),
    ("Z00", "Z99", "XXI", "Factors influencing health status"),
    ("U00", "U85", "XXII", "Codes for special purposes"),
)
CHAPTERS = tuple((lo, hi) for lo, hi, _n, _t in CHAPTER_TITLES)
NOT_IN_ICD10 = frozenset({"D49", "E91", "E92", "E93", "E94", "E95", "K94", "K95"})

WORDS = "an ICD-10 code that exists (this category is in no ICD-10 chapter)"


def category_exists(category: str) -> bool:
    """Whether a three-character ICD-10 category lies inside a chapter."""
    category = category[:3].upper()
    if category in NOT_IN_ICD10:
        return False
    return any(lo <= category <= hi for lo, hi in CHAPTERS)


def chapter_name(code: str) -> str | None:
    """The title of the ICD-10 chapter ``code`` falls in (e.g. "Respiratory system" for
    J44.9), or None if it falls in none."""
    category = code.replace(".", "")[:3].upper()
    if category in NOT_IN_ICD10:
        return None
    for lo, hi, _number, title in CHAPTER_TITLES:
        if lo <= category <= hi:
            return title
    return None


def exists(values: pa.Array) -> pa.Array:
    """Vectorised :func:`category_exists` (null stays null)."""
    categories = pc.utf8_slice_codeunits(values, 0, 3)
    unique = pc.unique(categories).to_pylist()
    known = [c for c in unique if c is not None and category_exists(c)]
    return pc.if_else(pc.is_valid(values), pc.is_in(categories, pa.array(known, pa.string())), None)
