"""Places and organisations: footprints, small areas, GP practices and their clusters.

Every code is fictional but has the shape of the real one: ODS codes for providers
(three letters starting X, sites with two digits added), practices as a letter and
five digits starting Z, LSOA codes E01 followed by numbers above 900000 (no real LSOA
uses them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from joinedup.synth.config import SynthConfig

TOWNS = (
    "Northvale", "Ashby Moor", "Kingsford", "Riverside", "Hollinwood", "Castleton",
    "Millbrook", "Greenfield", "Westerham", "Brookside", "Oakley Bridge", "Thornbury",
    "Eastmoor", "Fairhaven", "Langdale", "Stonecross", "Redbank", "Whitley", "Harwood",
    "Elmstead",
)  # fmt: skip
STREETS = ("High Street", "Market Square", "Church Lane", "Park Road", "Station Road",
           "Victoria Road", "Mill Lane", "The Green")  # fmt: skip

ORGANISATIONS = (
    ("XQA", "Vale Integrated Care Board", "commissioner", None),
    ("XRA", "Northvale Hospitals NHS Foundation Trust", "acute_trust", None),
    ("XRA01", "Northvale General Hospital", "acute_site", "XRA"),
    ("XRA02", "Northvale Urgent Treatment Centre", "acute_site", "XRA"),
    ("XRB", "Eastmoor University Hospitals NHS Trust", "acute_trust", None),
    ("XRB01", "Eastmoor Royal Infirmary", "acute_site", "XRB"),
    ("XCA", "Vale Community Health NHS Trust", "community_trust", None),
    ("XMA", "Vale Partnership NHS Foundation Trust (mental health)", "mental_health_trust", None),
    ("XLA", "Vale Metropolitan Borough Council", "council", None),
    ("XAA", "Vale Ambulance Service NHS Trust", "ambulance_trust", None),
    ("XHA", "St Aidan's Hospice", "hospice", None),
)
ACUTE_TRUSTS = ("XRA", "XRB")
# A&E department by provider: (site of the type 1 department, site of type 3 units).
AE_SITES = {"XRA": ("XRA01", "XRA02"), "XRB": ("XRB01", "XRB01")}

PEOPLE_PER_LSOA = 1_600


@dataclass
class Geography:
    """The places of the economy, as arrays the population generator samples from."""

    footprint_codes: list[str]
    footprint_names: list[str]
    footprint_weight: np.ndarray  # share of people in each footprint
    footprint_trust: np.ndarray  # index into ACUTE_TRUSTS: the local hospital
    lsoa_codes: list[str]
    lsoa_footprint: np.ndarray
    lsoa_decile: np.ndarray
    lsoa_weight: np.ndarray
    practice_codes: list[str]
    practice_names: list[str]
    practice_footprint: np.ndarray
    practice_cluster: list[str]
    practice_weight: np.ndarray  # share of the footprint's people

    def tables(self) -> dict[str, pa.Table]:
        """The organisation, footprint, lsoa and practice tables."""
        orgs = list(zip(*ORGANISATIONS, strict=True))
        return {
            "organisation": pa.table(
                {
                    "org_code": list(orgs[0]),
                    "name": list(orgs[1]),
                    "kind": list(orgs[2]),
                    "parent_code": list(orgs[3]),
                }
            ),
            "footprint": pa.table(
                {"footprint_code": self.footprint_codes, "name": self.footprint_names}
            ),
            "lsoa": pa.table(
                {
                    "lsoa_code": self.lsoa_codes,
                    "imd_decile": pa.array(self.lsoa_decile, pa.int16()),
                    "footprint_code": [self.footprint_codes[f] for f in self.lsoa_footprint],
                }
            ),
            "practice": pa.table(
                {
                    "practice_code": self.practice_codes,
                    "name": self.practice_names,
                    "cluster_code": self.practice_cluster,
                    "footprint_code": [self.footprint_codes[f] for f in self.practice_footprint],
                }
            ),
        }


def build_geography(config: SynthConfig) -> Geography:
    """Footprints of 30,000-50,000 people, LSOAs with IMD deciles, practices in clusters.

    Each footprint is a town with its own level of deprivation (its LSOAs' deciles scatter
    around it), so footprints differ as real towns do. Practices hold 3,000-15,000
    patients; an economy too small for that keeps the proportions at a smaller scale.
    """
    rng = config.rng("geography")
    n_fp = max(1, round(config.people / 40_000))
    fp_size = rng.uniform(30_000, 50_000, n_fp)
    fp_weight = fp_size / fp_size.sum()
    # Towns range from among the most deprived to among the least.
    fp_level = np.linspace(2.5, 8.5, n_fp)[rng.permutation(n_fp)] if n_fp > 1 else np.array([5.5])
    fp_codes = [f"FP{i + 1:02d}" for i in range(n_fp)]
    fp_names = [TOWNS[i % len(TOWNS)] + ("" if i < len(TOWNS) else f" {i // len(TOWNS) + 1}")
                for i in range(n_fp)]  # fmt: skip
    fp_trust = (np.arange(n_fp) % 3 == 2).astype(np.int8)  # a third use the second hospital

    # LSOAs: about 1,600 people each, deciles scattered around the town's level.
    n_lsoa = np.maximum(1, np.round(fp_weight * config.people / PEOPLE_PER_LSOA)).astype(int)
    lsoa_fp = np.repeat(np.arange(n_fp), n_lsoa)
    decile = np.clip(np.round(rng.normal(fp_level[lsoa_fp], 1.8)), 1, 10).astype(np.int16)
    lsoa_weight = rng.uniform(0.8, 1.2, len(lsoa_fp))
    lsoa_codes = [f"E01{900_000 + i:06d}" for i in range(len(lsoa_fp))]

    # Practices: sizes 3,000-15,000 (scaled down with a small economy), two or three
    # clusters per footprint.
    scale = min(1.0, config.people / 200_000)
    codes, names, p_fp, cluster, weight = [], [], [], [], []
    for f in range(n_fp):
        target = fp_weight[f] * config.people
        sizes: list[float] = []
        while sum(sizes) < target:
            sizes.append(float(np.exp(rng.uniform(np.log(3_000), np.log(15_000)))) * scale)
        n_clusters = 1 if len(sizes) < 4 else (2 if len(sizes) < 8 else 3)
        for k, size in enumerate(sizes):
            i = len(codes)
            codes.append(f"Z{10_001 + i:05d}")
            street = STREETS[i % len(STREETS)]
            names.append(f"{street} Surgery, {fp_names[f]}" if k % 2 else
                         f"{fp_names[f]} Medical Practice {k // 2 + 1}")  # fmt: skip
            p_fp.append(f)
            cluster.append(f"{fp_codes[f]}-C{k % n_clusters + 1}")
            weight.append(size)
    p_fp_arr = np.array(p_fp)
    w = np.array(weight)
    for f in range(n_fp):
        w[p_fp_arr == f] /= w[p_fp_arr == f].sum()
    return Geography(
        footprint_codes=fp_codes,
        footprint_names=fp_names,
        footprint_weight=fp_weight,
        footprint_trust=fp_trust,
        lsoa_codes=lsoa_codes,
        lsoa_footprint=lsoa_fp,
        lsoa_decile=decile,
        lsoa_weight=lsoa_weight,
        practice_codes=codes,
        practice_names=names,
        practice_footprint=p_fp_arr,
        practice_cluster=cluster,
        practice_weight=w,
    )
