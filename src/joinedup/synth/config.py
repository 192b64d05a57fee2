"""Settings of a synthetic health economy and the true effects planted in it."""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta

import numpy as np

# The last day of activity: the end of the 2025-26 financial year.
DEFAULT_END = date(2026, 3, 31)
# Default true effect of telephone care management on emergency admissions while a
# person is enrolled: 20% fewer (rate ratio 0.80), the midpoint of the papers' claim of
# "up to 50% fewer unplanned admissions for members" discounted for optimism bias.
DEFAULT_PROGRAMME_EFFECT = 0.80
# Default true effect of integrated neighbourhood teams on the emergency admissions of
# people aged 65 and over registered at a practice once its team has started: 15% fewer
# (rate ratio 0.85), a modest effect for a service that reaches everyone of that age at
# the practice rather than a few chosen people.
DEFAULT_AREA_EFFECT = 0.85


@dataclass(frozen=True)
class SynthConfig:
    """What to build: size, span, seed and the planted effects."""

    people: int = 250_000
    years: int = 3
    seed: int = 42
    end: date = DEFAULT_END
    programme_effect: float = DEFAULT_PROGRAMME_EFFECT
    # Share of the registered population enrolled in telephone care management.
    programme_uptake: float = 0.012
    # Financial years into the window that telephone care management starts: 1 is the
    # second financial year; more leaves more history before it (docs/evaluation.md).
    programme_launch_years: int = 1
    # Integrated neighbourhood teams (a place-based programme, rolled out practice
    # cluster by cluster): rate ratio of the emergency admissions of people aged 65 and
    # over at a practice once its team has started (1.0 = no effect).
    area_effect: float = DEFAULT_AREA_EFFECT
    # Between-practice variation in emergency admissions (sd of the log rate ratio),
    # with two practices planted as high outliers for funnel plots to find.
    practice_effect_sd: float = 0.10
    practice_outliers: int = 2
    practice_outlier_ratio: float = 1.5

    def __post_init__(self) -> None:
        if self.people < 100:
            raise ValueError(f"people must be at least 100, got {self.people}")
        if not 1 <= self.years <= 10:
            raise ValueError(f"years must be between 1 and 10, got {self.years}")
        if not 0.05 <= self.programme_effect <= 2.0:
            raise ValueError(
                f"programme_effect must be a rate ratio between 0.05 and 2.0, "
                f"got {self.programme_effect}"
            )
        if self.years > 1 and not 1 <= self.programme_launch_years < self.years:
            raise ValueError(
                f"programme_launch_years must be from 1 to {self.years - 1} (years - 1), "
                f"got {self.programme_launch_years}"
            )
        if not 0.05 <= self.area_effect <= 2.0:
            raise ValueError(
                f"area_effect must be a rate ratio between 0.05 and 2.0, got {self.area_effect}"
            )

    @property
    def start(self) -> date:
        """First day of activity: 1 April, ``years`` financial years before the end."""
        return date(self.end.year - self.years, 4, 1)

    @property
    def programme_launch(self) -> date:
        """The day telephone care management starts: 1 April, ``programme_launch_years``
        into the window (three months in when the window is one year)."""
        if self.years == 1:
            return self.start + timedelta(days=90)
        return date(self.start.year + self.programme_launch_years, 4, 1)

    def with_programme_effect(self, rate_ratio: float) -> SynthConfig:
        """The same settings with another true effect of telephone care management."""
        return replace(self, programme_effect=rate_ratio)

    def with_area_effect(self, rate_ratio: float) -> SynthConfig:
        """The same settings with another true effect of integrated neighbourhood teams."""
        return replace(self, area_effect=rate_ratio)

    def as_dict(self) -> dict:
        """Settings as plain JSON-ready values."""
        out = asdict(self)
        out["end"] = self.end.isoformat()
        out["start"] = self.start.isoformat()
        return out

    def rng(self, part: str) -> np.random.Generator:
        """An independent random stream for one part of the generator.

        Each part has its own stream, so changing how one part draws does not shift the
        numbers every other part gets from the same seed.
        """
        return np.random.default_rng([self.seed, zlib.crc32(part.encode())])
