"""Each person's top contributing factors, in words.

The contributions are LightGBM's SHAP values (``pred_contrib``): how much each feature
moved this person's score (log-odds) away from the average. The factors that raised it
most are turned into phrases a clinician reads at a glance: "3 emergency admissions in
the last 12 months", "heart failure", "aged 87". A factor that raised the risk because
something is *absent* (no GP appointments) is not shown: it is not a reason to call.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from joinedup.risk.features import CONDITIONS
from joinedup.risk.model import FEATURES, RiskModel

CONDITION_WORDS = {
    "hypertension": "hypertension",
    "depression": "depression",
    "diabetes": "diabetes",
    "asthma": "asthma",
    "ckd": "chronic kidney disease",
    "cancer": "cancer",
    "chd": "coronary heart disease",
    "atrial_fibrillation": "atrial fibrillation",
    "copd": "COPD",
    "stroke_tia": "stroke or TIA",
    "heart_failure": "heart failure",
    "serious_mental_illness": "serious mental illness",
    "dementia": "dementia",
    "learning_disability": "learning disability",
    "osteoporosis": "osteoporosis",
    "epilepsy": "epilepsy",
}

COUNTS = {
    "emergency_admissions": ("emergency admission", "in the last 12 months"),
    "emergency_admissions_90d": ("emergency admission", "in the last 90 days"),
    "emergency_bed_days": ("emergency bed day", "in the last 12 months"),
    "elective_admissions": ("planned admission", "in the last 12 months"),
    "maternity_admissions": ("maternity admission", "in the last 12 months"),
    "bed_days": ("hospital bed day", "in the last 12 months"),
    "ae_attendances": ("A&E attendance", "in the last 12 months"),
    "op_attendances": ("outpatient attendance", "in the last 12 months"),
    "op_dna": ("missed outpatient appointment", "in the last 12 months"),
    "gp_appointments": ("GP practice appointment", "in the last 12 months"),
    "community_contacts": ("community health contact", "in the last 12 months"),
    "ltc_count": ("long-term condition", "recorded"),
}


def _plural(n: int, noun: str) -> str:
    if n == 1:
        return f"1 {noun}"
    if noun.endswith("y") and not noun.endswith("day"):
        return f"{n} {noun[:-1]}ies"
    return f"{n} {noun}s"


def phrase(feature: str, value: float) -> str | None:
    """The words for ``feature`` at ``value``, or None when it is no reason to act."""
    if feature.startswith("ltc_") and feature != "ltc_count":
        name = feature.removeprefix("ltc_")
        return CONDITION_WORDS.get(name, name.replace("_", " ")) if value >= 1 else None
    if feature in COUNTS:
        if value < 1:
            return None
        noun, when = COUNTS[feature]
        return f"{_plural(int(value), noun)} {when}"
    if feature == "age":
        return f"aged {int(value)}"
    if feature == "days_since_emergency":
        return f"last emergency admission {int(value)} days ago" if value <= 365 else None
    if feature == "cost":
        return (
            f"£{value:,.0f} of hospital and community care in the last 12 months" if value else None
        )
    if feature == "imd_decile":
        return f"lives in a deprived area (IMD decile {int(value)})" if value <= 3 else None
    if feature == "social_care":
        return "receives long-term social care" if value >= 1 else None
    if feature == "care_home":
        return "lives in a care home" if value >= 1 else None
    if feature == "hfrs":
        return f"Hospital Frailty Risk Score {value:.1f}" if value >= 5 else None
    if feature == "charlson":
        return f"Charlson comorbidity index {int(value)}" if value >= 1 else None
    if feature == "female":
        return None  # sex is never a reason to call someone
    return None


def reasons(model: RiskModel, frame: pd.DataFrame, top: int = 3) -> list[list[str]]:
    """For each row of ``frame``, up to ``top`` phrases for the factors that raised the
    risk most (largest positive contributions first)."""
    if frame.empty:
        return []
    contrib = model.contributions(frame)
    values = frame[list(FEATURES)].to_numpy(float)
    out = []
    for row_c, row_v in zip(contrib, values, strict=True):
        words: list[str] = []
        for j in np.argsort(-row_c, kind="stable"):
            if row_c[j] <= 0 or len(words) == top:
                break
            text = phrase(FEATURES[j], row_v[j])
            if text and text not in words:
                words.append(text)
        out.append(words)
    return out


assert all(c in CONDITION_WORDS for c in CONDITIONS)
