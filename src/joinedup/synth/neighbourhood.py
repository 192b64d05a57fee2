"""Integrated neighbourhood teams: a place-based programme rolled out cluster by cluster.

Unlike telephone care management, nobody is enrolled: the teams serve everyone
registered at a practice once the practice's team has started. Practices start with
their GP cluster (``Geography.practice_cluster``), and clusters start in waves on the
first day of a month, staggered between about a year after the start of the window and
six months before its end, so that every practice that starts has at least 12 months
of data before its start and 6 after (a window too short for that, one year, is
squeezed in proportion, keeping at least 3 months before). About a quarter of clusters
(at least one, when there are two or more) never start in the window: they are the
never-treated comparison a staggered difference-in-differences needs. Which clusters
start in which wave is drawn from ``config.rng("neighbourhood")``.

The planted effect: each emergency admission (other than the one in which the person
dies) of a person aged 65 or over on the day of admission, registered at a practice
whose team started on or before that day, happens with probability equal to the true
rate ratio (``SynthConfig.area_effect``); a ratio above 1 adds admissions. People never
change practice in the generator (a person who moves leaves the list and a newcomer is
a new person, see :mod:`joinedup.synth.population`), so a person's practice, and so
their team's start, is the same all through their registration.

Whether an admission is kept is decided by its own coin, a hash of the admission (its
person, days and kind) keyed from the seed, not by its position among the others: the
admissions the teams prevent do not depend on which other admissions exist, so changing
the telephone care programme's effect (applied just before) leaves them unchanged, and
the admissions of people the teams do not reach are identical whatever the ratio.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa

from joinedup.synth.admissions import EMERGENCY_KINDS, KIND_FINAL, Spells, scale_rate
from joinedup.synth.config import SynthConfig
from joinedup.synth.geography import Geography
from joinedup.synth.population import NO_END, People
from joinedup.synth.timeline import DAYS_PER_YEAR, dates, day

PROGRAMME = "integrated_neighbourhood_teams"
LEVEL = "practice"
#: Age from which the teams change admissions.
MIN_AGE = 65
#: Share of clusters that never start in the window (at least one of two or more).
NEVER_SHARE = 0.25
#: Most waves of starts.
WAVES = 4
#: Months of data wanted before the first wave and after the start of the last.
MONTHS_BEFORE, MONTHS_AFTER = 12, 6
#: Fewest months before the first wave, however short the window.
MIN_MONTHS_BEFORE = 3
APPLIES = (
    "emergency admissions of people aged 65 and over registered at a practice on or after "
    "its start date (not the admission in which the person dies)"
)


def _month(first: date, months: int) -> date:
    """The first day of the month ``months`` after the month of ``first``."""
    years, month = divmod(first.month - 1 + months, 12)
    return date(first.year + years, month + 1, 1)


def wave_months(config: SynthConfig, n_waves: int) -> list[int]:
    """Start months of up to ``n_waves`` waves, as months after ``config.start``.

    Evenly spread from ``MONTHS_BEFORE`` months in to ``MONTHS_AFTER`` months before
    the end; a window shorter than two years is squeezed in proportion (at least
    ``MIN_MONTHS_BEFORE`` months before, one after). Fewer waves when fewer months fit.
    """
    span = 12 * config.years
    scale = min(1.0, span / (2 * MONTHS_BEFORE))
    first = max(MIN_MONTHS_BEFORE, round(MONTHS_BEFORE * scale))
    last = max(first, span - max(1, round(MONTHS_AFTER * scale)))
    n = max(1, min(n_waves, last - first + 1))
    return sorted({int(m) for m in np.round(np.linspace(first, last, n))})


def rollout(config: SynthConfig, geo: Geography) -> np.ndarray:
    """Each practice's start day of its integrated neighbourhood team (index: practice,
    as ``geo.practice_codes``), ``NO_END`` for a practice whose cluster never starts."""
    rng = config.rng("neighbourhood")
    clusters = list(dict.fromkeys(geo.practice_cluster))
    n = len(clusters)
    n_never = max(1, round(n * NEVER_SHARE)) if n >= 2 else 0
    order = rng.permutation(n)
    starting = order[n_never:]
    months = wave_months(config, min(WAVES, len(starting)))
    cluster_start = np.full(n, NO_END, np.int64)
    # every wave has at least one cluster (fewer waves than starting clusters)
    for month, group in zip(months, np.array_split(starting, len(months)), strict=True):
        cluster_start[group] = day(_month(config.start, month))
    index = {c: i for i, c in enumerate(clusters)}
    return cluster_start[[index[c] for c in geo.practice_cluster]]


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: scrambles 64-bit keys (wrapping arithmetic)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def coins(spells: Spells, salt: int) -> np.ndarray:
    """One uniform number in [0, 1) per spell, from the spell itself and ``salt``: the
    same spell gets the same number whatever other spells there are. Identical spells
    (same person, days and kind) are told apart by their order among themselves."""
    if not len(spells):
        return np.zeros(0)
    fields = (spells.who, spells.admitted, spells.discharged, spells.kind.astype(np.int64))
    order = np.lexsort(fields[::-1])
    same = np.ones(len(spells), bool)
    for f in fields:
        s = f[order]
        same[1:] &= s[1:] == s[:-1]
    same[0] = False
    position = np.arange(len(spells))
    run_start = np.maximum.accumulate(np.where(same, 0, position))
    repeat = np.empty(len(spells), np.int64)
    repeat[order] = position - run_start
    with np.errstate(over="ignore"):
        h = np.full(len(spells), np.uint64(salt))
        for f in (*fields, repeat):
            h = _mix(h ^ f.astype(np.uint64))
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


def apply_effect(
    config: SynthConfig,
    started: np.ndarray,
    spells: Spells,
    people: People,
    spell_end: np.ndarray,
    others: Spells | None = None,
) -> Spells:
    """Emergency admissions of people aged 65+ at practices whose team has started,
    thinned (or added to) by ``config.area_effect``; ``started`` is :func:`rollout`'s
    start day per practice, ``spell_end`` each person's end of exposure (added
    admissions fall before it, clear of the stays in ``spells`` and ``others``)."""
    rng = config.rng("neighbourhood-effect")
    salt = int(rng.integers(0, 2**63))
    reached = spells.admitted >= started[people.practice[spells.who]]
    older = people.age_on(spells.who, spells.admitted) >= MIN_AGE
    emergency = np.isin(spells.kind, EMERGENCY_KINDS) & (spells.kind != KIND_FINAL)
    affected = reached & older & emergency
    # Admissions added by a ratio above 1 fall once both the team has started and the
    # person is 65.
    since = np.maximum(started[people.practice], people.dob + int(np.ceil(MIN_AGE * DAYS_PER_YEAR)))
    return scale_rate(
        spells,
        affected,
        config.area_effect,
        rng,
        spell_end,
        since,
        coins=coins(spells, salt),
        others=others,
    )


def rollout_table(started: np.ndarray, geo: Geography) -> pa.Table:
    """The programme_rollout rows: one per practice whose team started."""
    rows = np.flatnonzero(started != NO_END)
    return pa.table(
        {
            "programme": pa.array([PROGRAMME] * len(rows), pa.string()),
            "unit_level": pa.array([LEVEL] * len(rows), pa.string()),
            "unit_code": pa.array([geo.practice_codes[i] for i in rows], pa.string()),
            "started_on": dates(started[rows]),
            "ended_on": pa.nulls(len(rows), pa.date32()),
        }
    )


def truth(config: SynthConfig, started: np.ndarray, geo: Geography) -> dict:
    """The programme's entry in truth.json: the units that started and when, the
    practices that never did, and the planted rate ratio."""
    iso = (np.asarray(started, np.int64).astype("datetime64[D]")).astype(str)
    units = sorted(
        (
            {"unit": geo.practice_codes[i], "cluster": geo.practice_cluster[i],
             "started_on": str(iso[i])}
            for i in np.flatnonzero(started != NO_END)
        ),
        key=lambda u: (u["started_on"], u["unit"]),
    )  # fmt: skip
    return {
        "level": LEVEL,
        "units": units,
        "never_started": [geo.practice_codes[i] for i in np.flatnonzero(started == NO_END)],
        "emergency_admissions_65plus_rate_ratio": config.area_effect,
        "applies": APPLIES,
    }
