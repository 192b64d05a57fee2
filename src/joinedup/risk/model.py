"""Risk of an emergency admission in the next 12 months, for every registered person.

In the tradition of the Combined Predictive Model, PARR and SPARRA: features from the
warehouse at an as-of date (``joinedup.risk.features``), the outcome is any emergency
admission in the 12 months after it. Gradient boosting (LightGBM) with a temporal split:

- **fit**: features at the end of year 1 of the data -> emergency admission in year 2
  (80% of people fit the trees, the other 20% fit the Platt calibration);
- **validate**: features at the end of year 2 -> admission in year 3, people and time
  the model never saw;
- **score**: features at the end of the data -> risk for the coming 12 months.

Two comparators are fitted on the same training year so users see what the model adds:
a logistic regression on the same features, and the number of emergency admissions in
the last 12 months (turned into a probability by the observed rate at each count).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from joinedup.risk.features import (
    NUMERIC_FEATURES,
    SCORE_FEATURES,
    data_end,
    emergency_outcome,
    person_features,
)
from joinedup.warehouse import Warehouse

FEATURES: tuple[str, ...] = (*NUMERIC_FEATURES, *SCORE_FEATURES)
PRIOR_CAP = 5  # the comparator's counts above this share one rate
LGB_PARAMS = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 200,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbose": -1,
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
}
MODEL_FILE = "model.txt"
META_FILE = "model.json"


def _one_year_before(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def split_dates(wh: Warehouse) -> dict[str, date]:
    """The as-of dates: training (end of year 1), validation (end of year 2), scoring.

    Raises ValueError if the warehouse holds less than three years of admissions.
    """
    end = data_end(wh)
    valid = _one_year_before(end)
    train = _one_year_before(valid)
    start = pd.Timestamp(wh.table("apc_spell").admitted_on.min().execute()).date()
    if _one_year_before(train) < start - pd.Timedelta(days=7):
        raise ValueError(
            f"the risk model needs three years of admissions; apc_spell runs from {start} "
            f"to {end}: load more history"
        )
    return {"train": train, "validate": valid, "score": end}


def design(wh: Warehouse, as_of: date, outcome: bool = True) -> pd.DataFrame:
    """Features of everyone registered on ``as_of`` and (with ``outcome``) ``admitted``:
    1 if they had an emergency admission in the following 12 months.

    Rows are in ``person_id`` order, not the order the warehouse returned (which varies
    from run to run): training draws its calibration people by row.
    """
    x = person_features(wh, as_of).to_pyarrow().to_pandas()
    if outcome:
        y = emergency_outcome(wh, as_of).to_pyarrow().to_pandas()
        x = x.merge(y, on="person_id", how="left")
        x["admitted"] = x["admitted"].fillna(0).astype(int)
    return x.sort_values("person_id", kind="stable", ignore_index=True)


def matrix(frame: pd.DataFrame) -> np.ndarray:
    """The model's feature matrix (float) from a features frame."""
    return frame[list(FEATURES)].to_numpy(dtype=float)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def fit_platt(raw: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling: intercept and slope of a logistic regression of the outcome on the
    logit of the raw score. Strictly increasing, so it keeps the ranking (AUROC, average
    precision, who is in the top 1%) exactly, unlike isotonic regression's steps."""
    import statsmodels.api as sm

    x = sm.add_constant(_logit(raw), has_constant="add")
    fit = sm.GLM(np.asarray(y, float), x, family=sm.families.Binomial()).fit()
    a, b = np.asarray(fit.params, float)
    return float(a), float(b)


@dataclass
class RiskModel:
    """A fitted LightGBM booster with its Platt calibration."""

    booster: object
    intercept: float
    slope: float
    meta: dict = field(default_factory=dict)

    def raw(self, frame: pd.DataFrame) -> np.ndarray:
        """Uncalibrated scores."""
        return self.booster.predict(matrix(frame))

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of an emergency admission in the next 12 months."""
        eta = self.intercept + self.slope * _logit(self.raw(frame))
        return 1 / (1 + np.exp(-eta))

    def contributions(self, frame: pd.DataFrame) -> np.ndarray:
        """Per-person SHAP contributions (log-odds) of each feature (LightGBM pred_contrib).

        About a millisecond a person: explain a list, not the whole population.
        """
        return self.booster.predict(matrix(frame), pred_contrib=True)[:, : len(FEATURES)]

    def save(self, folder: Path) -> None:
        """Write the booster and calibration to ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(folder / MODEL_FILE))
        meta = {
            **self.meta,
            "features": list(FEATURES),
            "calibration": {"method": "platt", "intercept": self.intercept, "slope": self.slope},
        }
        (folder / META_FILE).write_text(json.dumps(meta, indent=1, default=str) + "\n")

    @classmethod
    def load(cls, folder: Path) -> RiskModel:
        """Read a model written by ``save``; a clear error if it is not there."""
        import lightgbm as lgb

        folder = Path(folder)
        if not (folder / MODEL_FILE).exists() or not (folder / META_FILE).exists():
            raise FileNotFoundError(
                f"{folder}: no risk model here (expected {MODEL_FILE} and {META_FILE}); "
                "run `joinedup risk train` first"
            )
        meta = json.loads((folder / META_FILE).read_text())
        if meta.get("features") != list(FEATURES):
            raise ValueError(f"{folder / META_FILE}: model built for other features; retrain")
        cal = meta.pop("calibration")
        booster = lgb.Booster(model_file=str(folder / MODEL_FILE))
        return cls(booster, float(cal["intercept"]), float(cal["slope"]), meta)


@dataclass
class Comparators:
    """The two simple comparators, fitted on the training year."""

    logistic_params: np.ndarray
    logistic_columns: list[str]
    logistic_mean: np.ndarray
    logistic_sd: np.ndarray
    prior_rates: np.ndarray

    def logistic(self, frame: pd.DataFrame) -> np.ndarray:
        """Probability from the logistic regression."""
        z = (frame[self.logistic_columns].to_numpy(float) - self.logistic_mean) / self.logistic_sd
        eta = self.logistic_params[0] + z @ self.logistic_params[1:]
        return 1 / (1 + np.exp(-eta))

    def prior(self, frame: pd.DataFrame) -> np.ndarray:
        """Observed training-year rate at the person's count of emergency admissions."""
        count = np.minimum(frame["emergency_admissions"].to_numpy(int), PRIOR_CAP)
        return self.prior_rates[count]


def _logistic_columns(frame: pd.DataFrame) -> list[str]:
    # ltc_count is the sum of the flags; constant columns carry nothing.
    return [c for c in FEATURES if c != "ltc_count" and frame[c].astype(float).std() > 0]


def fit_comparators(train: pd.DataFrame) -> Comparators:
    """Logistic regression on the model's features; emergency-admission-count rates."""
    import statsmodels.api as sm

    cols = _logistic_columns(train)
    x = train[cols].to_numpy(float)
    mean, sd = x.mean(axis=0), x.std(axis=0)
    z = sm.add_constant((x - mean) / sd, has_constant="add")
    y = train["admitted"].to_numpy(float)
    params = sm.GLM(y, z, family=sm.families.Binomial()).fit(maxiter=100).params
    count = np.minimum(train["emergency_admissions"].to_numpy(int), PRIOR_CAP)
    events = np.bincount(count, weights=y, minlength=PRIOR_CAP + 1)
    people = np.bincount(count, minlength=PRIOR_CAP + 1)
    rates = np.where(people > 0, events / np.maximum(people, 1), y.mean())
    return Comparators(np.asarray(params), cols, mean, sd, rates)


@dataclass
class TrainResult:
    """What ``train`` produced: the model, its comparators and the validation frame."""

    model: RiskModel
    comparators: Comparators
    validation: pd.DataFrame
    dates: dict[str, date]
    card_paths: dict[str, Path] = field(default_factory=dict)


def train(
    wh: Warehouse,
    out: Path | None = None,
    *,
    rounds: int = 400,
    seed: int = 42,
    step: Callable[[str], None] = lambda _: None,
) -> TrainResult:
    """Fit, calibrate and validate the model; with ``out``, save it and its model card."""
    import lightgbm as lgb

    from joinedup.risk.model_card import write_model_card

    dates = split_dates(wh)
    step(f"features at {dates['train']} (training)")
    train_frame = design(wh, dates["train"])
    step(f"features at {dates['validate']} (validation)")
    valid = design(wh, dates["validate"])

    step("fitting LightGBM")
    rng = np.random.default_rng(seed)
    calib = rng.random(len(train_frame)) < 0.2
    fit_part, cal_part = train_frame[~calib], train_frame[calib]
    params = {**LGB_PARAMS, "seed": seed}
    data = lgb.Dataset(matrix(fit_part), fit_part["admitted"].to_numpy(), free_raw_data=True)
    booster = lgb.train(params, data, num_boost_round=rounds)
    intercept, slope = fit_platt(booster.predict(matrix(cal_part)), cal_part["admitted"])
    model = RiskModel(
        booster,
        intercept,
        slope,
        meta={
            "trained_as_of": dates["train"].isoformat(),
            "validated_as_of": dates["validate"].isoformat(),
            "outcome": "any emergency admission (admission method 21-2D, 28) in the 12 months "
            "after the as-of date",
            "rounds": rounds,
            "seed": seed,
            "params": params,
            "training_people": len(fit_part),
            "calibration_people": len(cal_part),
        },
    )
    step("fitting comparators")
    comparators = fit_comparators(train_frame)
    step("validating")
    valid = valid.assign(
        risk=model.predict(valid),
        risk_logistic=comparators.logistic(valid),
        risk_prior=comparators.prior(valid),
    )
    result = TrainResult(model, comparators, valid, dates)
    if out is not None:
        step("writing model and model card")
        out = Path(out)
        model.save(out)
        result.card_paths = write_model_card(result, out)
    return result


def score_people(wh: Warehouse, model: RiskModel, as_of: date | None = None) -> pd.DataFrame:
    """Risk for everyone registered on ``as_of`` (default: the end of the data).

    Returns the features frame with ``risk`` (calibrated probability), ``rank`` (1 =
    highest) and ``percentile`` (100 = highest risk) added.
    """
    as_of = as_of or data_end(wh)
    return rank_people(design(wh, as_of, outcome=False), model)


def rank_people(frame: pd.DataFrame, model: RiskModel) -> pd.DataFrame:
    """``frame`` (features) with ``risk``, ``rank`` and ``percentile``, highest risk first."""
    if "person_id" in frame:
        # Ties in risk are broken by person id, not by the order the warehouse returned.
        frame = frame.sort_values("person_id", kind="stable").reset_index(drop=True)
    frame = frame.assign(risk=model.predict(frame))
    frame["rank"] = frame["risk"].rank(ascending=False, method="first").astype(int)
    frame["percentile"] = np.ceil(100 * (1 - (frame["rank"] - 1) / len(frame))).astype(int)
    return frame.sort_values("rank").reset_index(drop=True)
