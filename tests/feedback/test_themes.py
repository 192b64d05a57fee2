"""Free-text feedback: themes by keyword, and no comment shown that could identify."""

from __future__ import annotations

import pandas as pd
import pytest

from joinedup.feedback.themes import (
    could_identify,
    load_themes,
    showable_comments,
    theme_flags,
    theme_summary,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "comment",
    [
        "Thank you to Sister Jones on ward 7",
        "Dr Patel was brilliant",
        "My husband John was left on a trolley",
        "my mum Edna waited hours",
        "NHS number 943 476 5919 was wrong on the letter",
        "Ring me on 01632 960123",
        "Seen on 12/03/2026 in the morning",
        "write to me at someone@example.org",
    ],
)
def test_identifying_comments_are_caught(comment):
    assert could_identify(pd.Series([comment])).iloc[0]


@pytest.mark.parametrize(
    "comment",
    [
        "Waited over five hours to be seen",
        "The nurse listened to me and took time to explain",
        "Parking was impossible and very expensive",
        "Could not get an appointment for two weeks",
    ],
)
def test_ordinary_comments_are_not_flagged(comment):
    assert not could_identify(pd.Series([comment])).iloc[0]


def test_themes_match_whole_words_case_insensitively():
    flags = theme_flags(pd.Series(["WAITED hours in the corridor", "Kindness itself", None]))
    assert flags.loc[0, "waiting"]
    assert not flags.loc[1, "staff_attitude"]  # "kind" is not a whole word of "Kindness"
    assert not flags.loc[2].any()


def test_comments_shown_only_from_big_enough_groups_and_never_identifying():
    rows = [("XRA", f"R{i}", "2026-01-0" + str(1 + i % 9), "1", "Staff were kind")
            for i in range(12)]  # fmt: skip
    rows[0] = ("XRA", "R0", "2026-01-09", "5", "My husband John was ignored")
    rows += [("XRB", f"S{i}", "2026-01-05", "2", "Friendly staff") for i in range(3)]
    frame = pd.DataFrame(rows, columns=["provider_code", "response_id", "responded_on",
                                        "answer_code", "comment"])  # fmt: skip
    shown = showable_comments(frame, by=["provider_code"], limit=20)
    assert set(shown["provider_code"]) == {"XRA"}  # XRB has only 3 responses
    assert not shown["comment"].str.contains("John").any()
    assert len(shown) == 11
    summary = theme_summary(frame, by=["provider_code"])
    xra = summary[(summary.provider_code == "XRA") & (summary.theme == "staff_attitude")]
    assert int(xra["comments"].iloc[0]) == 11  # the withheld comment has no staff keyword


def test_a_bad_theme_file_is_explained(tmp_path):
    path = tmp_path / "themes.yaml"
    path.write_text("waiting:\n  label: Waiting\n  words: [wait]\n")
    with pytest.raises(ValueError, match=r"themes\.yaml: theme 'waiting'"):
        load_themes(path)
