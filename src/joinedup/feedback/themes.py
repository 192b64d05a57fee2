"""Theme free-text comments by editable keyword lists; show comments only when safe.

A comment is never shown if it could identify someone: it is withheld when it names a
person (a title or a family relation followed by a capitalised name), or carries a
number that could be an NHS number, a phone number, a date or an email address, and
comments are shown only for groups of at least ``MIN_GROUP`` responses. Withheld
comments still count towards their themes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

DEFAULT_THEMES = Path(__file__).with_name("themes.yaml")
MIN_GROUP = 10

_IDENTIFYING = re.compile(
    r"\b(?:Dr|Doctor|Sister|Nurse|Mr|Mrs|Ms|Miss|Matron)\.?\s+[A-Z][a-z]+"
    r"|\b(?:[Mm]y|[Oo]ur)\s+(?:husband|wife|son|daughter|mum|mother|dad|father|partner|"
    r"brother|sister|grandson|granddaughter|nan|grandad)\s+[A-Z][a-z]+"
    r"|\d{3}\s?\d{3}\s?\d{4}"  # NHS-number-like
    r"|\b0\d{3,4}\s?\d{5,6}\b"  # UK phone number
    r"|\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b"  # a date
    r"|[\w.+-]+@[\w-]+\.[\w.]+"  # email
)


class Theme(BaseModel):
    """One theme: a label and the words that signal it."""

    model_config = ConfigDict(extra="forbid")
    label: str
    keywords: list[str]


def load_themes(path: Path | str | None = None) -> dict[str, Theme]:
    """Themes from YAML (default: the shipped list, or $JOINEDUP_FEEDBACK_THEMES)."""
    from joinedup.settings import feedback_themes

    path = Path(path or feedback_themes() or DEFAULT_THEMES)
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of theme name to label and keywords")
    themes = {}
    for name, spec in data.items():
        try:
            themes[name] = Theme.model_validate(spec)
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(p) for p in problem["loc"])
            raise ValueError(f"{path}: theme {name!r}: {where}: {problem['msg']}") from None
    return themes


def could_identify(comments: pd.Series) -> pd.Series:
    """True for each comment that names someone or carries an identifying number."""
    return comments.fillna("").str.contains(_IDENTIFYING)


def theme_flags(comments: pd.Series, themes: dict[str, Theme] | None = None) -> pd.DataFrame:
    """One boolean column per theme: does the comment mention it?"""
    themes = themes or load_themes()
    text = comments.fillna("").str.lower()
    flags = {}
    for name, theme in themes.items():
        words = "|".join(re.escape(k.lower()) for k in theme.keywords)
        flags[name] = text.str.contains(rf"\b(?:{words})\b", regex=True)
    return pd.DataFrame(flags, index=comments.index)


def theme_summary(
    feedback: pd.DataFrame, themes: dict[str, Theme] | None = None, by: list[str] | None = None
) -> pd.DataFrame:
    """Comments per theme (and share of them from negative FFT answers), by group."""
    themes = themes or load_themes()
    with_comment = feedback[feedback["comment"].notna()]
    flags = theme_flags(with_comment["comment"], themes)
    negative = with_comment["answer_code"].isin(["4", "5"])
    rows = []
    groups = with_comment.groupby(by) if by else [((), with_comment)]
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        for name, theme in themes.items():
            hit = flags.loc[group.index, name]
            rows.append({**dict(zip(by or [], key, strict=True)), "theme": name,
                         "label": theme.label, "comments": int(hit.sum()),
                         "negative": int((hit & negative.loc[group.index]).sum())})  # fmt: skip
    return pd.DataFrame(rows)


def showable_comments(
    feedback: pd.DataFrame, by: list[str], limit: int = 5, min_group: int = MIN_GROUP
) -> pd.DataFrame:
    """Comments safe to show: from groups of at least ``min_group`` responses, none that
    could identify anyone; at most ``limit`` per group (most recent first)."""
    sizes = feedback.groupby(by)["response_id"].transform("count")
    safe = feedback[
        feedback["comment"].notna() & (sizes >= min_group) & ~could_identify(feedback["comment"])
    ]
    safe = safe.sort_values("responded_on", ascending=False)
    return safe.groupby(by).head(limit)[[*by, "responded_on", "answer_code", "comment"]]
