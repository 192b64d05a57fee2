"""'What people told us this quarter': the board's view of feedback."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from joinedup.feedback.themes import MIN_GROUP, showable_comments, theme_summary
from joinedup.schema.codes import FEEDBACK_SETTING


def quarter_feedback(warehouse: Path | str, first: date, last: date) -> dict:
    """FFT percentage positive by setting, themes and safe comments for one quarter.

    No percentage from fewer than ``MIN_GROUP`` answers; comments only as
    :func:`showable_comments` allows (never one that could identify anyone).
    """
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        if "feedback_response" not in tables:  # a warehouse from before feedback existed
            return {"settings": [], "themes": [], "comments": []}
        frame = con.execute(
            "SELECT response_id, setting, provider_code, responded_on, answer_code, comment "
            "FROM feedback_response WHERE instrument = 'fft' AND responded_on BETWEEN ? AND ?",
            [first, last],
        ).df()
    settings = []
    for setting, group in frame.groupby("setting"):
        n = len(group)
        positive = int(group["answer_code"].isin(["1", "2"]).sum())
        settings.append({
            "setting": FEEDBACK_SETTING.get(setting, setting),
            "responses": n if n >= MIN_GROUP else None,
            "percent_positive": round(100 * positive / n, 1) if n >= MIN_GROUP else None,
        })  # fmt: skip
    themes = theme_summary(frame) if len(frame) else None
    theme_rows = (
        themes.sort_values("comments", ascending=False).to_dict("records")
        if themes is not None else []
    )  # fmt: skip
    quotes = showable_comments(frame, by=["setting"], limit=3) if len(frame) else frame
    return {
        "settings": settings,
        "themes": [t for t in theme_rows if t["comments"] >= MIN_GROUP],
        "comments": [
            {"setting": FEEDBACK_SETTING.get(q["setting"], q["setting"]), "comment": q["comment"]}
            for q in quotes.to_dict("records")
        ],
    }
