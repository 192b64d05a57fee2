"""Hand-computed scores from the published definitions (provenance in each test)."""

from __future__ import annotations

import pandas as pd
import pytest

from joinedup.risk.definitions import expand_code, score_definition
from joinedup.risk.scores import score_diagnoses

pytestmark = pytest.mark.unit


def one(codes: list[str], score: str) -> pd.Series:
    """The result row of one patient with ``codes``."""
    out = score_diagnoses(pd.DataFrame({"id": 1, "code": codes}), score)
    assert len(out) == 1
    return out.iloc[0]


def many(patients: dict[str, list[str]], score: str) -> pd.DataFrame:
    """The result rows of several patients (id -> codes), scored in one call."""
    rows = [(pid, code) for pid, codes in patients.items() for code in codes]
    return score_diagnoses(pd.DataFrame(rows, columns=["id", "code"]), score).set_index("id")


def test_charlson_1987_heart_failure_complicated_diabetes_and_metastases():
    # Charlson 1987 weights: CHF 1, diabetes with end-organ damage 2, metastatic solid
    # tumour 6. Quan 2005 Table 1: I50.x, E11.2, C78.x. The uncomplicated diabetes (E11.9)
    # and the primary colon cancer (C18.x) are dropped by the hierarchy.
    row = one(["I50", "E112", "C78", "E119", "C180"], "charlson")
    assert row["score"] == 1 + 2 + 6
    assert row["diabetes_with_complications"] and not row["diabetes_without_complications"]
    assert row["metastatic_solid_tumour"] and not row["any_malignancy"]


def test_charlson_liver_hierarchy_and_quan_2011_weights():
    # Mild liver (K70.3 alcoholic cirrhosis) and moderate/severe liver (I85.0 oesophageal
    # varices with bleeding): only the severe one counts. Charlson 1987: 3. Quan 2011: 4.
    # Quan 2011 Table 3 reweights MI 0 (1987: 1), dementia 2 (1987: 1), AIDS/HIV 4 (1987: 6).
    patients = {"both": ["K703", "I850"], "mild": ["K703"], "mi_dem_hiv": ["I21", "F03", "B20"]}
    c1987, q2011 = many(patients, "charlson"), many(patients, "charlson_quan2011")
    assert c1987.loc["both", "score"] == 3 and q2011.loc["both", "score"] == 4
    assert c1987.loc["mild", "score"] == 1 and q2011.loc["mild", "score"] == 2
    assert c1987.loc["mi_dem_hiv", "score"] == 1 + 1 + 6
    assert q2011.loc["mi_dem_hiv", "score"] == 0 + 2 + 4
    assert not c1987.loc["both", "mild_liver_disease"]


def test_charlson_maxima():
    # Every category present. Quan 2011: "the updated index ... maximum score of 24".
    # Charlson 1987 under the same three hierarchy rules: the 17 weights sum to 33, minus
    # mild liver 1, uncomplicated diabetes 1 and any malignancy 2: 29.
    every = [p for c in score_definition("charlson").categories for p in c.prefixes[:1]]
    assert one(every, "charlson_quan2011")["score"] == 24
    assert one(every, "charlson")["score"] == 29


def test_elixhauser_van_walraven_range():
    # van Walraven 2009: the score runs from -19 (valvular -1, obesity -4, blood loss
    # anaemia -2, deficiency anaemia -2, drug abuse -7, depression -3) to 89 (every positive
    # weight). With the solid tumour / metastatic hierarchy the top is 89 - 4 = 85.
    negative = ["I05", "E66", "D500", "D509", "F11", "F32"]
    assert one(negative, "elixhauser_vw")["score"] == -19
    definition = score_definition("elixhauser_vw")
    every = [c.prefixes[0] for c in definition.categories if definition.weights[c.name] >= 0]
    row = one(every, "elixhauser_vw")
    assert row["score"] == 85
    assert not row["solid_tumour_without_metastasis"] and row["metastatic_cancer"]
    assert not row["hypertension_uncomplicated"] and not row["diabetes_uncomplicated"]


def test_hfrs_points_and_bands():
    out = many(
        {
            # Gilbert 2018 appendix: F00 7.1, R54 2.2, W19 3.2 -> 12.5, intermediate (5-15);
            # F00 counts once however many of its codes.
            "a": ["F001", "R54", "W19", "F009"],
            # Band edges: 5.0 (G30 4.0 + J69 1.0) is intermediate, 4.9 (+ R63 0.9) low;
            "b": ["G30", "J69"],
            "c": ["G30", "R63"],
            # F00 7.1 + G81 4.4 + R41 2.7 = 14.2: + R13 0.8 is 15.0, intermediate;
            # + R63 0.9 is 15.1, high.
            "d": ["F00", "G81", "R41", "R13"],
            "e": ["F00", "G81", "R41", "R63"],
            "f": ["A00"],
        },
        "hfrs",
    )
    assert out.loc["a", "score"] == pytest.approx(12.5)
    assert out.loc["a", "band"] == "intermediate"
    assert out.loc["a", ["F00", "R54", "W19"]].all() and not out.loc["a", "G81"]
    assert out.loc["b", "score"] == pytest.approx(5.0)
    assert out.loc["d", "score"] == pytest.approx(15.0)
    assert out.loc["e", "score"] == pytest.approx(15.1)
    assert list(out["band"]) == [
        "intermediate",
        "intermediate",
        "low",
        "intermediate",
        "high",
        "low",
    ]


def test_codes_are_normalised_and_matched_by_prefix():
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6],
            "code": ["i25.2 ", "I25", "I2521", " e11.2", "X99", None],
        }
    )
    out = score_diagnoses(frame, "charlson").set_index("id")
    assert out.loc[1, "myocardial_infarction"]  # I25.2 old MI, any case and spacing
    assert not out.loc[2, "myocardial_infarction"]  # I25 alone is not I25.2
    assert out.loc[3, "myocardial_infarction"]  # longer codes match on their first four
    assert out.loc[4, "diabetes_with_complications"]
    assert out.loc[5, "score"] == 0 and out.loc[6, "score"] == 0  # unmatched and missing
    assert list(out.index) == [1, 2, 3, 4, 5, 6]


def test_one_row_per_id_with_other_column_names():
    frame = pd.DataFrame({"patient": ["b", "a", "b"], "dx": ["I50", "J44", "J45"]})
    out = score_diagnoses(frame, "charlson", id_column="patient", code_column="dx")
    assert list(out["patient"]) == ["a", "b"]
    assert list(out["score"]) == [1, 2]


def test_empty_input_gives_empty_result_with_columns():
    out = score_diagnoses(pd.DataFrame({"id": [], "code": []}), "elixhauser_vw")
    assert len(out) == 0
    assert {"id", "score", "congestive_heart_failure"} <= set(out.columns)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown score 'charlsen'"):
        score_diagnoses(pd.DataFrame({"id": [1], "code": ["I50"]}), "charlsen")
    with pytest.raises(KeyError, match="no column 'code'"):
        score_diagnoses(pd.DataFrame({"id": [1], "icd": ["I50"]}), "charlson")


def test_code_lists_have_the_published_sizes():
    assert len(score_definition("charlson").categories) == 17
    assert len(score_definition("elixhauser_vw").categories) == 31
    hfrs = score_definition("hfrs")
    assert len(hfrs.categories) == 109  # Gilbert 2018: 109 ICD-10 codes
    assert all(len(c.prefixes) == 1 and len(c.prefixes[0]) == 3 for c in hfrs.categories)
    assert max(hfrs.weights.values()) == 7.1 and min(hfrs.weights.values()) == 0.1


def test_ranges_expand_inclusively_and_bad_ranges_are_refused():
    assert expand_code("I425-I429", "t") == ["I425", "I426", "I427", "I428", "I429"]
    assert expand_code("C00-C02", "t") == ["C00", "C01", "C02"]
    with pytest.raises(ValueError, match="same letter and length"):
        expand_code("C00-D02", "here")
    with pytest.raises(ValueError, match="not an ICD-10 code"):
        expand_code("I5", "here")
