"""The published-figures service: every number that leaves the warehouse, one way.

:class:`Figures` is what the web pages, the JSON API, the board pack and the command
line ask for their numbers. Each figure is computed by its capability (measures
through the engine and :func:`joinedup.measures.results.finalise`, which annualises
rates, gives intervals and suppresses small counts; segments, profiles and
opportunities through their own modules, then suppressed here), labelled once, and
kept for the state of the data it came from (:mod:`joinedup.published.store`): a
second interface asking the same question gets the same object, so two interfaces
cannot disagree, and a page is a lookup and a render.

Person-level reads (case-finding lists, a practice's feed) go through
:meth:`Figures.person_level`: kept in memory only, never written to the figures
store, and shown only where the caller's role allows (the interfaces check, with
:mod:`joinedup.access`, and audit each read).

The warehouse is opened read-only and queried under one lock (one DuckDB connection
per service); the state is read when the service opens (a warehouse cannot be written
while it is open read-only, so it cannot change underneath).
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

from joinedup.measures.definition import MeasureDefinition
from joinedup.published.base import NotFound
from joinedup.published.casefinding import CASEFINDING_SIZE, CaseFindingFigures
from joinedup.published.measures import BREAKDOWNS, HEADLINE_MEASURES, MeasureFigures
from joinedup.published.opportunity import OpportunityFigures
from joinedup.published.population import PopulationFigures
from joinedup.published.practices import PracticeFigures
from joinedup.published.store import FigureStore, file_fingerprint, state_of
from joinedup.warehouse import Warehouse

__all__ = ["BREAKDOWNS", "CASEFINDING_SIZE", "HEADLINE_MEASURES", "Figures", "NotFound"]

#: The files of a trained risk model whose content decides its predictions.
MODEL_FILES = ("model.json", "model.txt", "model-card.csv")


class Figures(
    MeasureFigures, PopulationFigures, CaseFindingFigures, PracticeFigures, OpportunityFigures
):
    """The published figures of one warehouse (and its trained risk model).

    ``warehouse``: a warehouse file (opened read-only) or an open
    :class:`~joinedup.warehouse.Warehouse`. ``risk_model``: the trained model's folder
    (default: ``joinedup.settings.risk_model_dir``). ``cache``: where figures are kept
    on disk (default ``joinedup.settings.figures_cache_dir``; False keeps them in memory
    only); measure results also use the measure cache beside the warehouse unless
    ``cache`` is False. The figures themselves are grouped by topic: measures
    (:mod:`~joinedup.published.measures`), population and segments
    (:mod:`~joinedup.published.population`), case finding, practices and opportunity
    (the modules of those names); the quarter's feedback, the plan scenario and the
    programmes' evaluations are here.
    """

    def __init__(
        self,
        warehouse: Warehouse | str | Path,
        *,
        risk_model: Path | str | None = None,
        cache: Path | bool | None = None,
        library: dict[str, MeasureDefinition] | None = None,
    ) -> None:
        from joinedup import settings
        from joinedup.measures.cache import batch_ids, definition_hash
        from joinedup.measures.definition import load_library
        from joinedup.warehouse import open_warehouse

        if isinstance(warehouse, Warehouse):
            self.wh, self._owned = warehouse, False
            self.warehouse_path = Path(warehouse.location) if warehouse.location else None
        else:
            path = Path(warehouse)
            if not path.exists():
                raise FileNotFoundError(
                    f"no warehouse at {path}: run `joinedup demo` (or pass --warehouse FILE)"
                )
            self.wh, self._owned = open_warehouse(path, read_only=True), True
            self.warehouse_path = path
        here = self.warehouse_path or Path(".")
        self.risk_model_path = (
            settings.risk_model_dir(here) if risk_model is None else Path(risk_model)
        )
        self.library = library if library is not None else load_library()
        self._lock = threading.RLock()
        batches = batch_ids(self.wh)
        library_hash = "".join(definition_hash(d) for d in self.library.values())
        state = state_of(batches, file_fingerprint(self.risk_model_path, MODEL_FILES), library_hash)
        folder = None
        if cache is not False and self.warehouse_path is not None and self.wh.location:
            folder = (
                settings.figures_cache_dir(self.warehouse_path)
                if cache in (None, True)
                else Path(cache)
            )
        self.store = FigureStore(folder, state)
        self._measure_cache: Path | bool | None = False if cache is False else None
        self._people: dict[str, Any] = {}

    def close(self) -> None:
        """Release the warehouse (when this service opened it)."""
        if self._owned:
            self.wh.close()

    def __enter__(self) -> Figures:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def feedback(self, first: date, last: date) -> dict[str, Any]:
        """What people told us between ``first`` and ``last`` (FFT by setting, themes,
        safe comments: ``feedback.board.quarter_feedback``)."""
        from joinedup.feedback.board import quarter_feedback

        return self.figure(f"feedback:{first}:{last}", quarter_feedback, self.wh, first, last)

    def plan_scenario(self) -> dict[str, Any]:
        """The partnership plan scenario's comparison row (the board pack's summary)."""
        from joinedup.published.scenarios import plan_summary

        return self.figure("plan-scenario", plan_summary, self.wh, persist=True)

    def programmes(self) -> list[str]:
        """Names of the programmes that can be evaluated: those with enrolments
        (``programme_enrolment``) and the place-based ones (``programme_rollout``)."""
        from joinedup.risk.evaluate import programmes
        from joinedup.risk.place import place_programmes

        def every(wh) -> list[str]:
            return sorted(set(programmes(wh)) | set(place_programmes(wh)))

        return self.figure("programmes-v2", every, self.wh)

    def place_programmes(self) -> list[str]:
        """Names of the place-based programmes (``programme_rollout``)."""
        from joinedup.risk.place import place_programmes

        return self.figure("place-programmes", place_programmes, self.wh)

    def evaluation(
        self,
        programme: str,
        *,
        k: int | None = None,
        bootstrap: int | None = None,
        seed: int | None = None,
        outcome: str = "emergency_admissions",
        eligibility: Any = None,
        comparisons: str = "not_yet_enrolled",
    ) -> dict[str, Any]:
        """The matched difference-in-differences evaluation of ``programme``, with its
        falsification tests, E-value and verdict for ``outcome``, suppressed
        (:func:`joinedup.published.evaluation.programme_evaluation`; the defaults are
        those of ``joinedup evaluate``; ``eligibility`` an
        :class:`joinedup.risk.eligibility.Eligibility`, by default read from the data;
        ``comparisons`` one of :data:`joinedup.risk.evaluate.COMPARISONS`). A
        place-based programme (one with a rollout)
        gets the area-level evaluation instead
        (:func:`joinedup.published.evaluation.place_evaluation`; ``k``, ``bootstrap`` and
        ``seed`` do not apply: its interval is the jackknife's, and its outcome emergency
        admissions of people aged 65 and over). ValueError when
        it cannot be evaluated."""
        import joinedup.published.evaluation as ev

        if programme in self.place_programmes():
            if outcome != "emergency_admissions":
                raise ValueError(
                    f"{programme} is place-based: it is evaluated on emergency admissions "
                    "of people aged 65 and over only"
                )
            if comparisons != "not_yet_enrolled":
                raise ValueError(
                    f"{programme} is place-based: its comparisons are the units not started "
                    "yet or never (--comparisons applies to programmes people are enrolled in)"
                )
            return self.figure(
                f"place-evaluation-v3:{programme}", ev.place_evaluation, self.wh, programme,
                persist=True,
            )  # fmt: skip

        k = ev.DEFAULT_K if k is None else k
        bootstrap = ev.DEFAULT_BOOTSTRAP if bootstrap is None else bootstrap
        seed = ev.DEFAULT_SEED if seed is None else seed
        return self.figure(
            # "v5": risk sets by default, a second placebo, the falsification tests listed,
            # matching repaired on features left unbalanced.
            f"evaluation-v5:{programme}:{outcome}:{k}:{bootstrap}:{seed}"
            + (f":{comparisons}" if comparisons != "not_yet_enrolled" else "")
            + (f":{eligibility.digest()}" if eligibility is not None else ""),
            ev.programme_evaluation, self.wh, programme, k, bootstrap, seed, outcome,
            eligibility, comparisons,
            persist=True,
        )  # fmt: skip
