"""The model card: what the risk model is, how well it does and for whom.

Written by ``joinedup risk train`` as ``model-card.md`` and ``model-card.html`` (with
``calibration.png`` and ``calibration.svg``) beside the saved model. Every figure is
on the validation year: people and a year the model never saw.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from joinedup.derived.persons import AGE_BANDS
from joinedup.risk.metrics import (
    TOP_SHARES,
    auroc,
    auroc_difference,
    calibration_table,
    summary,
    top_share,
)

if TYPE_CHECKING:
    from joinedup.risk.model import TrainResult

SCORES = {
    "risk": "LightGBM (calibrated)",
    "risk_logistic": "Logistic regression",
    "risk_prior": "Emergency admissions last year",
}
GROUPS = {
    "sex": "Sex",
    "age_band": "Age band",
    "imd_quintile": "IMD quintile (1 = most deprived)",
    "ethnic_group": "Ethnic group",
}
SMALL = 8  # groups with fewer people or events than this are not shown


def comparison(valid: pd.DataFrame) -> pd.DataFrame:
    """One row per model: every measure in ``metrics.summary``."""
    y = valid["admitted"].to_numpy()
    rows = [{"model": label, **summary(y, valid[col].to_numpy())} for col, label in SCORES.items()]
    return pd.DataFrame(rows)


def subgroups(valid: pd.DataFrame, share: float = 0.05) -> pd.DataFrame:
    """The model's performance by sex, age band, IMD quintile and ethnic group.

    PPV and sensitivity use the whole population's top ``share`` (the list a service
    would actually work from), so groups the model under-flags show a low sensitivity.
    """
    k = max(1, round(share * len(valid)))
    flagged = np.zeros(len(valid), bool)
    flagged[np.argsort(-valid["risk"].to_numpy(), kind="stable")[:k]] = True
    rows = []
    order = {b[0]: i for i, b in enumerate(AGE_BANDS)}
    for col, title in GROUPS.items():
        groups = valid.assign(_flag=flagged).groupby(col, sort=True)
        ranked = sorted(groups, key=lambda kv: (order.get(kv[0], 0), str(kv[0])))
        for value, g in ranked:
            y = g["admitted"].to_numpy()
            events, n = int(y.sum()), len(g)
            row = {"breakdown": title, "group": str(value), "people": n, "events": events}
            if events < SMALL or n - events < SMALL:
                rows.append({**row, "note": "too few to show"})
                continue
            auc, lo, hi = auroc(y, g["risk"].to_numpy())
            f = g["_flag"].to_numpy()
            rows.append(
                {
                    **row,
                    "observed": y.mean(),
                    "expected": g["risk"].mean(),
                    "auroc": auc,
                    "auroc_lower": lo,
                    "auroc_upper": hi,
                    "flagged": int(f.sum()),
                    "ppv": y[f].mean() if f.any() else np.nan,
                    "sensitivity": y[f].sum() / events,
                }
            )
    return pd.DataFrame(rows)


def model_differences(valid: pd.DataFrame) -> list[dict]:
    """AUROC of the model minus each comparator's, with DeLong's paired 95% CI."""
    y = valid["admitted"].to_numpy()
    out = []
    for col, label in list(SCORES.items())[1:]:
        d, lo, hi = auroc_difference(y, valid["risk"].to_numpy(), valid[col].to_numpy())
        out.append({"comparator": label, "difference": d, "lower": lo, "upper": hi})
    return out


def calibration_plot(valid: pd.DataFrame, folder: Path) -> dict[str, Path]:
    """Observed against predicted risk by twentieth of prediction, for each model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y = valid["admitted"].to_numpy()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    top = 0.0
    for (col, label), marker in zip(SCORES.items(), "os^", strict=True):
        t = calibration_table(y, valid[col].to_numpy(), bins=20)
        ax.plot(t[:, 0], t[:, 1], marker=marker, ms=4, lw=1, label=label)
        top = max(top, t.max())
    ax.plot([0, top], [0, top], color="grey", lw=0.8, ls="--", label="perfect calibration")
    ax.set_xlabel("Predicted risk (mean in each twentieth)")
    ax.set_ylabel("Observed share admitted")
    ax.set_title("Calibration on the validation year")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    paths = {"png": folder / "calibration.png", "svg": folder / "calibration.svg"}
    fig.savefig(paths["png"], dpi=110)
    fig.savefig(paths["svg"])
    plt.close(fig)
    return paths


def _pct(v: float) -> str:
    return "" if pd.isna(v) else f"{100 * v:.1f}%"


def _table(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def render_markdown(result: TrainResult, comp: pd.DataFrame, groups: pd.DataFrame) -> str:
    """The model card as Markdown."""
    meta = result.model.meta
    valid = result.validation
    shown = pd.DataFrame(
        {
            "model": comp["model"],
            "AUROC (95% CI)": [
                f"{r.auroc:.3f} ({r.auroc_lower:.3f} to {r.auroc_upper:.3f})"
                for r in comp.itertuples()
            ],
            "average precision": comp["average_precision"].map("{:.3f}".format),
            "Brier": comp["brier"].map("{:.4f}".format),
            **{f"PPV top {100 * s:g}%": comp[f"ppv_top_{s:g}"].map(_pct) for s in TOP_SHARES},
            **{
                f"sensitivity top {100 * s:g}%": comp[f"sensitivity_top_{s:g}"].map(_pct)
                for s in TOP_SHARES
            },
        }
    )
    g = groups.copy()
    for col in ("observed", "expected", "ppv", "sensitivity"):
        if col in g:
            g[col] = g[col].map(_pct)
    if "auroc" in g:
        g["AUROC (95% CI)"] = [
            ""
            if pd.isna(r.auroc)
            else f"{r.auroc:.3f} ({r.auroc_lower:.3f} to {r.auroc_upper:.3f})"
            for r in g.itertuples()
        ]
        g = g.drop(columns=["auroc", "auroc_lower", "auroc_upper"])
    g = g.fillna("")
    diffs = model_differences(valid)
    beats = all(d["lower"] > 0 for d in diffs)
    top_list = top_share(valid["admitted"], valid["risk"], 0.01)
    from joinedup.risk.model import FEATURES

    importance = pd.Series(result.model.booster.feature_importance("gain"), index=list(FEATURES))
    top_features = importance.sort_values(ascending=False).head(10)
    lines = [
        "# Model card: risk of an emergency admission in the next 12 months",
        "",
        "## What it predicts",
        "",
        f"The probability that a registered person has at least one emergency admission "
        f"in the 12 months after the as-of date. Outcome: {meta['outcome']}.",
        "",
        "## How it was built",
        "",
        f"- Gradient boosting (LightGBM, {meta['rounds']} trees, learning rate "
        f"{meta['params']['learning_rate']}, {meta['params']['num_leaves']} leaves), seed "
        f"{meta['seed']}.",
        f"- **Temporal split.** Fitted on features as at {meta['trained_as_of']} and "
        f"admissions in the following year ({meta['training_people']:,} people), "
        f"calibrated (Platt scaling) on another {meta['calibration_people']:,} "
        f"people of that year, and validated on features as at {meta['validated_as_of']} "
        f"and the year after it ({len(valid):,} people, {int(valid['admitted'].sum()):,} "
        "admitted). Every figure below is from the validation year.",
        "- Features: age, sex, IMD decile, 16 long-term conditions and their count, "
        "emergency and planned admissions, bed days, A&E, outpatient, GP and community "
        "activity in the last 12 months (and emergency admissions in the last 90 days, "
        "days since the last), cost, long-term social care, care home, Hospital Frailty "
        "Risk Score and Charlson index from the last 12 months' diagnoses.",
        "- Comparators fitted on the same training year: a logistic regression on the "
        "same features, and the number of emergency admissions in the last 12 months "
        "(as the observed rate at each count).",
        "",
        "## Performance",
        "",
        _table(shown),
        "",
        *(
            f"- AUROC of the model minus {d['comparator'].lower()}: {d['difference']:+.3f} "
            f"(95% CI {d['lower']:+.3f} to {d['upper']:+.3f}; DeLong's paired test)."
            for d in diffs
        ),
        "",
        (
            "The model discriminates better than both comparators (intervals above zero)."
            if beats
            else "**The model does not clearly beat both simple comparators on these data "
            "(an interval includes zero or lies below it).**"
        ),
        "",
        f"Of the top 1% ({top_list['flagged']:,} people), {_pct(top_list['ppv'])} were "
        f"admitted in the following year; they account for "
        f"{_pct(top_list['sensitivity'])} of all people admitted.",
        "",
        "![Calibration plot](calibration.png)",
        "",
        "## By group",
        "",
        "PPV and sensitivity are for the whole population's top 5%. Groups with fewer "
        f"than {SMALL} people admitted (or not admitted) are not shown.",
        "",
        _table(g),
        "",
        "## Most important features (total gain)",
        "",
        _table(
            pd.DataFrame(
                {
                    "feature": top_features.index,
                    "share of gain": (top_features / importance.sum()).map(_pct).to_numpy(),
                }
            )
        ),
        "",
        "## Use and limits",
        "",
        "- A risk score supports, not replaces, clinical judgement: each person on a "
        "case-finding list comes with the factors that raised their score, in words.",
        "- The outcome counts admissions anywhere the warehouse sees; admissions outside "
        "the partnership's providers are missed.",
        "- Recalibrate (retrain) every year: admission rates and coding drift.",
        "- On the synthetic economy the figures describe synthetic people; they show the "
        "method works, not how well it would do on real data.",
        "",
    ]
    return "\n".join(lines)


def write_model_card(result: TrainResult, folder: Path) -> dict[str, Path]:
    """Write model-card.md, model-card.html and the calibration plot into ``folder``."""
    from markdown_it import MarkdownIt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    comp = comparison(result.validation)
    groups = subgroups(result.validation)
    paths = calibration_plot(result.validation, folder)
    md = render_markdown(result, comp, groups)
    paths["md"] = folder / "model-card.md"
    paths["md"].write_text(md)
    png = base64.b64encode(paths["png"].read_bytes()).decode()
    body = MarkdownIt("commonmark").enable("table").render(md)
    body = body.replace('src="calibration.png"', f'src="data:image/png;base64,{png}"')
    html = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Model card: emergency admission risk</title><style>"
        "body{font-family:Arial,sans-serif;max-width:1100px;margin:2em auto;color:#212b32}"
        "table{border-collapse:collapse;font-size:0.85em;margin:1em 0}"
        "th,td{border:1px solid #d8dde0;padding:4px 8px;text-align:left}"
        "th{background:#f0f4f5}img{max-width:520px}</style></head><body>"
        f"{body}</body></html>\n"
    )
    paths["html"] = folder / "model-card.html"
    paths["html"].write_text(html)
    pd.concat(
        [comp.assign(table="comparison"), groups.assign(table="subgroups")], ignore_index=True
    ).to_csv(folder / "model-card.csv", index=False)
    return paths
