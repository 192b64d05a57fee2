"""Similar peers: each unit's most similar units by the make-up of its population.

Features (shares of the registered population, from
:func:`joinedup.opportunity.counts.population_profile`) are put on one scale
(z-scores over the units, a feature that does not vary counts as zero) and peers are
the nearest units by Euclidean distance, ties broken by unit code, so the same data
always give the same peers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from joinedup.opportunity.method import PEER_COUNT, OpportunityError

#: Population features peers are matched on (all shares of the registered population).
FEATURES = (
    "under_18",
    "aged_65_plus",
    "aged_85_plus",
    "most_deprived",
    "minority_ethnic",
    "long_term_condition",
)


def peer_distances(profile: pd.DataFrame, features: tuple[str, ...] = FEATURES) -> pd.DataFrame:
    """Square matrix of distances between units (index and columns: unit codes)."""
    missing = [f for f in ("unit", *features) if f not in profile]
    if missing:
        raise OpportunityError(f"population profile lacks {', '.join(missing)}")
    x = profile[list(features)].to_numpy(dtype=float)
    sd = x.std(axis=0)
    z = np.where(sd > 0, (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0), 0.0)
    d = np.sqrt(((z[:, None, :] - z[None, :, :]) ** 2).sum(axis=2))
    units = profile["unit"].astype(str).tolist()
    return pd.DataFrame(d, index=units, columns=units)


def similar_peers(
    profile: pd.DataFrame, count: int = PEER_COUNT, features: tuple[str, ...] = FEATURES
) -> dict[str, list[str]]:
    """Each unit's ``count`` most similar other units, nearest first."""
    if len(profile) < 2:
        raise OpportunityError("similar peers need at least two units")
    d = peer_distances(profile, features)
    out = {}
    for unit in d.index:
        row = d.loc[unit].drop(unit)
        ranked = sorted(row.items(), key=lambda kv: (kv[1], kv[0]))
        out[unit] = [u for u, _ in ranked[:count]]
    return out
