"""'What people told us this quarter': the board's view of feedback."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from joinedup.feedback.themes import MIN_GROUP, showable_comments, theme_summary
from joinedup.schema.codes import FEEDBACK_SETTING
from joinedup.warehouse import Warehouse

#: The measure of each FFT setting whose response base gives the board its response rate.
FFT_MEASURES = {setting: f"fft_positive_{setting}" for setting in FEEDBACK_SETTING}


def quarter_feedback(warehouse: Warehouse | Path | str, first: date, last: date) -> dict:
    """FFT percentage positive and response rate by setting, themes and safe comments.

    ``first`` to ``last`` is one calendar quarter. No percentage (and no response
    rate) from fewer than ``MIN_GROUP`` answers; the eligible count behind a response
    rate (e.g. A&E attendances in the quarter, see :func:`eligible_by_setting`) is
    suppressed from 1 to 7, and the rate with it. Comments only as
    :func:`showable_comments` allows (never one that could identify anyone).
    """
    from joinedup.measures.results import opened_warehouse

    with opened_warehouse(warehouse) as wh:
        if "feedback_response" not in wh.con.list_tables():  # a warehouse from before feedback
            return {"settings": [], "themes": [], "comments": []}
        frame = wh.raw.execute(
            "SELECT response_id, setting, provider_code, responded_on, answer_code, comment "
            "FROM feedback_response WHERE instrument = 'fft' AND responded_on BETWEEN ? AND ?",
            [first, last],
        ).df()
        eligible = eligible_by_setting(wh, sorted(frame["setting"].unique()), first, last)
    settings = []
    for setting, group in frame.groupby("setting"):
        n = len(group)
        positive = int(group["answer_code"].isin(["1", "2"]).sum())
        base = eligible.get(setting)
        shown = n >= MIN_GROUP
        settings.append({
            "setting": FEEDBACK_SETTING.get(setting, setting),
            "responses": n if shown else None,
            "percent_positive": round(100 * positive / n, 1) if shown else None,
            "eligible": base["eligible"] if base else None,
            "eligible_label": base["label"] if base else None,
            "response_rate": round(100 * n / base["eligible"], 1)
            if shown and base and base["eligible"] else None,
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


def eligible_by_setting(
    wh: Warehouse, settings: list[str], first: date, last: date
) -> dict[str, dict]:
    """The partnership's eligible count of each FFT setting's response base in a quarter.

    Each is the response base of the setting's measure (``FFT_MEASURES``) counted as the
    measures count it (:func:`joinedup.measures.results.response_base_counts`), over
    the calendar quarter ``first`` to ``last``. Counts from 1 to 7 are left out
    (suppressed). Settings without a measure or a response base, quarters the base's
    data do not cover from their start, and windows that are not a calendar quarter
    have none.
    """
    from joinedup.measures.definition import load_library
    from joinedup.measures.engine import Sources
    from joinedup.measures.periods import period_of
    from joinedup.measures.results import response_base_counts
    from joinedup.measures.suppression import HIGHEST_SUPPRESSED, LOWEST_SUPPRESSED

    period = period_of(first, "quarter")
    if (period.start, period.end) != (first, last):
        return {}
    library = load_library()
    out: dict[str, dict] = {}
    for setting in settings:
        d = library.get(FFT_MEASURES.get(setting, ""))
        base = d.base_measure if d is not None else None
        if base is None or "partnership" not in (d.response_base.groupings or []):
            continue
        src = Sources(wh, "quarter", [period], [base])
        try:
            counts = response_base_counts(src, d, ["partnership"])
        finally:
            src.release()
        if counts.empty:
            continue
        n = float(counts["eligible"].sum())
        if LOWEST_SUPPRESSED <= n <= HIGHEST_SUPPRESSED:  # suppressed, and the rate with it
            continue
        out[setting] = {"eligible": int(n), "label": d.response_base.text}
    return out
