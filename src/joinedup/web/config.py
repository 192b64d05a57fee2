"""Settings of the web app: where the data live and how cookies behave."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


def default_programme_url(warehouse: Path | None = None) -> str:
    """The programme store URL: ``$JOINEDUP_PROGRAMME_DB`` or programme.sqlite beside the
    warehouse (the same rule as :func:`joinedup.programme.store.default_store_url`)."""
    import os

    env = os.environ.get("JOINEDUP_PROGRAMME_DB")
    if env:
        return env if "://" in env else f"sqlite:///{env}"
    if warehouse is None:
        from joinedup.warehouse import default_warehouse_path

        warehouse = default_warehouse_path()
    return f"sqlite:///{Path(warehouse).parent / 'programme.sqlite'}"


def default_risk_model_dir(warehouse: Path) -> Path:
    """The risk model folder: ``$JOINEDUP_RISK_MODEL`` or ``risk-model`` beside the
    warehouse (the rule of ``joinedup risk train``/``score`` and where ``joinedup demo``
    trains it)."""
    import os

    env = os.environ.get("JOINEDUP_RISK_MODEL")
    return Path(env) if env else Path(warehouse).parent / "risk-model"


@dataclass
class WebSettings:
    """Everything the app needs to start.

    ``warehouse``: the DuckDB warehouse file; the restricted re-identification store is
    ``reidentification.duckdb`` beside it unless ``reidentification`` is given.
    ``programme_db``: SQLAlchemy URL of the programme store (users, sessions, audit).
    ``risk_model``: folder of the trained emergency admission risk model (default: see
    :func:`default_risk_model_dir`); without one, case finding uses an interim ranking.
    ``secure_cookies``: mark cookies Secure (browsers keep Secure cookies on
    http://127.0.0.1 and http://localhost, so this stays on for local use too).
    """

    warehouse: Path
    programme_db: str | None = None
    reidentification: Path | None = None
    risk_model: Path | None = None
    secure_cookies: bool = True
    session_hours: float = 8.0
    token_hours: float = 12.0
    max_failed_logins: int = 5
    lockout_minutes: float = 15.0
    login_attempts_per_minute: int = 30
    headline_measures: list[str] = field(
        default_factory=lambda: [
            "emergency_admissions",
            "emergency_readmissions_30d",
            "emergency_mean_length_of_stay",
            "emergency_admissions_65plus",
        ]
    )

    def __post_init__(self) -> None:
        self.warehouse = Path(self.warehouse)
        if self.programme_db is None:
            self.programme_db = default_programme_url(self.warehouse)
        elif "://" not in self.programme_db:
            self.programme_db = f"sqlite:///{self.programme_db}"
        if self.reidentification is None:
            self.reidentification = self.warehouse.parent / "reidentification.duckdb"
        self.risk_model = (
            default_risk_model_dir(self.warehouse)
            if self.risk_model is None
            else Path(self.risk_model)
        )
