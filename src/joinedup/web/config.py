"""Settings of the web app: where the data live and how cookies behave."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from joinedup import settings as _settings
from joinedup.published.figures import HEADLINE_MEASURES


@dataclass
class WebSettings:
    """Everything the app needs to start.

    ``warehouse``: the DuckDB warehouse file; the restricted re-identification store is
    ``reidentification.duckdb`` beside it unless ``reidentification`` is given.
    ``programme_db``: SQLAlchemy URL of the programme store (users, sessions, audit).
    ``risk_model``: folder of the trained emergency admission risk model (default: see
    :func:`joinedup.settings.risk_model_dir`); without one, case finding uses an interim ranking.
    ``headline_measures``: what the overview leads with (the board pack's too).
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
    headline_measures: tuple[str, ...] = HEADLINE_MEASURES

    def __post_init__(self) -> None:
        self.warehouse = Path(self.warehouse)
        if self.programme_db is None:
            self.programme_db = _settings.programme_url(self.warehouse)
        else:
            from joinedup.programme.store import normalise_url

            self.programme_db = normalise_url(self.programme_db)
        if self.reidentification is None:
            self.reidentification = self.warehouse.parent / "reidentification.duckdb"
        self.risk_model = (
            _settings.risk_model_dir(self.warehouse)
            if self.risk_model is None
            else Path(self.risk_model)
        )
