"""The synthetic health economy: a calibrated, deterministic stand-in for real extracts.

``build(SynthConfig(people=..., years=..., seed=...), out)`` writes every canonical
table as Parquet, ``truth.json`` (settings and planted effects) and a DuckDB warehouse.
See docs/synth.md.
"""

from joinedup.synth.build import BuildResult, build, generate
from joinedup.synth.config import SynthConfig

__all__ = ["BuildResult", "SynthConfig", "build", "generate"]
