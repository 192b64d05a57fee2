"""Published measure figures: results by any grouping and period, the newest rows, SPC
charts, the headline, inequality and funnels, the board pack's data sheet.

Every value comes from :func:`joinedup.measures.results.compute` (the engine and
``finalise``: rates annualised, 95% intervals, small counts suppressed), kept per
measure, grouping and period kind for the state of the data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from joinedup.measures.definition import GROUPINGS, PERIODS, MeasureDefinition, MeasureError
from joinedup.measures.results import HEADLINE_MEASURES
from joinedup.published.base import Base, NotFound

__all__ = ["BREAKDOWNS", "HEADLINE_MEASURES", "MeasureFigures"]

#: Breakdowns shown beside every measure that allows them (equity at a glance).
BREAKDOWNS = ("imd_quintile", "age_band", "sex", "ethnic_group")


class MeasureFigures(Base):
    """The measure figures of :class:`~joinedup.published.figures.Figures`."""

    def definition(self, measure_id: str) -> MeasureDefinition:
        """The library definition of ``measure_id``; :class:`NotFound` if none."""
        try:
            return self.library[measure_id]
        except KeyError:
            raise NotFound(
                f"unknown measure {measure_id!r}; `joinedup measures list` shows the "
                f"{len(self.library)} measures defined"
            ) from None

    def activity_only(self) -> bool:
        """Whether the warehouse holds activity only, no GP register
        (:func:`joinedup.derived.has_register`): measures that need one
        (:attr:`MeasureDefinition.register_use`) cannot be computed, and people's
        details in the others came from activity records (their ``person_details``)."""
        from joinedup.derived import has_register

        return self.figure("activity-only", lambda: not has_register(self.wh))

    def computable(self, defs: Iterable[MeasureDefinition]) -> list[MeasureDefinition]:
        """Those of ``defs`` the warehouse's data allow (without a GP register: those
        that need none), for lists of every measure."""
        defs = list(defs)
        if not self.activity_only():
            return defs
        return [d for d in defs if d.register_use is None]

    def _check(self, d: MeasureDefinition, by: str, period: str | None) -> str:
        if by not in GROUPINGS:
            raise MeasureError(f"unknown grouping {by!r}; expected one of {', '.join(GROUPINGS)}")
        if by not in d.groupings:
            raise MeasureError(
                f"measure {d.id!r} cannot be grouped by {by!r}; it allows: {', '.join(d.groupings)}"
            )
        kind = period or d.period
        if kind not in PERIODS:
            raise MeasureError(f"unknown period {kind!r}; expected one of {', '.join(PERIODS)}")
        return kind

    def measure(
        self, measure_id: str, by: str = "partnership", period: str | None = None
    ) -> pd.DataFrame:
        """The measure's published results by ``by`` for every ``period`` (default: the
        measure's own period): the rows of :func:`joinedup.measures.results.compute`
        (annualised values, 95% intervals, small counts suppressed), in period then
        group order. Do not change the frame: it is shared."""
        d = self.definition(measure_id)
        kind = self._check(d, by, period)
        key = f"measure:{d.id}:{by}:{kind}"
        try:
            return self.store.peek(key)
        except KeyError:
            self.prefetch([d.id], [by], kind)
            return self.store.peek(key)

    def measures(
        self,
        ids: Iterable[str] | None = None,
        by: str | Sequence[str] = "partnership",
        period: str | None = None,
    ) -> pd.DataFrame:
        """Several measures' results at once, as :meth:`measure` gives each (``ids``
        default every measure; ``by`` a grouping, a list, or "all": every grouping each
        measure allows; a grouping that a named measure does not allow is an error
        unless ``by`` is "all"; without a GP register, ``ids`` default to the measures
        that need none, and a named one that does is an error)."""
        from joinedup.measures.results import RESULT_COLUMNS, resolve_ids

        wanted = list(GROUPINGS) if by == "all" else [by] if isinstance(by, str) else list(by)
        for g in wanted:
            if g not in GROUPINGS:
                raise MeasureError(
                    f"unknown grouping {g!r}; expected one of {', '.join(GROUPINGS)}"
                )
        defs = resolve_ids(self.library, ids)
        if ids is None:
            defs = self.computable(defs)
        lenient = by == "all" or ids is None
        self.prefetch([d.id for d in defs], wanted, period)
        frames = [
            self.measure(d.id, g, period)
            for d in defs
            for g in wanted
            if g in d.groupings or not lenient
        ]
        frames = [f for f in frames if len(f)]
        if not frames:
            return pd.DataFrame(columns=RESULT_COLUMNS)
        return pd.concat(frames, ignore_index=True)

    def prefetch(
        self,
        ids: Iterable[str] | None = None,
        groupings: Iterable[str] | None = None,
        period: str | None = None,
    ) -> None:
        """Compute the results of many measures by many groupings at once (each source
        read once per period kind: much faster than one by one), keeping each as
        :meth:`measure` gives it. ``ids`` default every measure, ``groupings`` every
        grouping (each measure by those it allows), ``period`` each measure's own.
        Without a GP register, ``ids`` default to the measures that need none and a named
        one that does is a :class:`~joinedup.measures.definition.RegisterRequired`
        error."""
        from joinedup.measures.results import RESPONSE_COLUMNS, compute

        if ids is not None:
            defs = [self.definition(m) for m in ids]
            if self.activity_only():
                for d in defs:
                    if d.register_use is not None:
                        raise d.register_required()
        else:
            defs = self.computable(self.library.values())
        wanted = list(groupings) if groupings is not None else list(GROUPINGS)
        with self._lock:
            todo: dict[str, dict[str, MeasureDefinition]] = {}
            for d in defs:
                kind = period or d.period
                for g in wanted:
                    if g in d.groupings and f"measure:{d.id}:{g}:{kind}" not in self.store:
                        todo.setdefault(kind, {})[d.id] = d
            for kind, subset in todo.items():
                frame = compute(
                    self.wh, None, wanted, kind, library=subset, cache=self._measure_cache
                )
                parts = dict(tuple(frame.groupby(["measure_id", "grouping"], sort=False)))
                for d in subset.values():
                    # Only a measure with a response base has the response columns (the
                    # frame of several measures together has them for every measure).
                    own = [c for c in frame.columns
                           if c not in RESPONSE_COLUMNS or d.response_base is not None]  # fmt: skip
                    for g in (g for g in wanted if g in d.groupings):
                        found = parts.get((d.id, g))
                        rows = pd.DataFrame(columns=own) if found is None else found[own]
                        self.store.put(f"measure:{d.id}:{g}:{kind}", rows.reset_index(drop=True))

    def latest(
        self, measure_id: str, by: str = "partnership", period: str | None = None
    ) -> pd.DataFrame:
        """The rows of the measure's newest ``period`` by ``by`` (empty without data)."""
        frame = self.measure(measure_id, by, period)
        if frame.empty:
            return frame
        return frame[frame["period_start"] == frame["period_start"].max()].reset_index(drop=True)

    def spc(
        self,
        measure_id: str,
        by: str = "partnership",
        group: str | None = None,
        period: str | None = None,
    ) -> pd.DataFrame:
        """The XmR chart frame of one group's series (:func:`~joinedup.measures.results.spc_of`);
        :class:`MeasureError` when it cannot be charted (an unknown group, or a
        suppressed period)."""
        from joinedup.measures.results import spc_of

        d = self.definition(measure_id)
        kind = self._check(d, by, period)
        key = f"spc:{d.id}:{by}:{group}:{kind}"

        def chart() -> pd.DataFrame | MeasureError:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # trial-limit advice is for `measures spc`
                try:
                    return spc_of(self.measure(d.id, by, kind), d, by, group)
                except MeasureError as exc:
                    return exc

        found = self.figure(key, chart)
        if isinstance(found, MeasureError):
            raise found
        return found

    def headline(self, ids: Sequence[str] | None = None) -> pd.DataFrame:
        """The headline figures (:func:`joinedup.measures.results.headline_rows`): latest
        financial year with its interval, latest period and SPC icons, one row per
        measure of ``ids`` (default :data:`HEADLINE_MEASURES`, those the data allow) in
        the library, from the same results every other page shows."""
        from joinedup.measures.results import headline_rows

        wanted = [m for m in (ids or HEADLINE_MEASURES) if m in self.library]
        if not ids:
            wanted = [d.id for d in self.computable(self.library[m] for m in wanted)]

        def build() -> pd.DataFrame:
            self.prefetch(wanted, ["partnership"], "financial_year")
            self.prefetch(wanted, ["partnership"])
            defs = [self.library[m] for m in wanted]
            yearly = [self.measure(m, "partnership", "financial_year") for m in wanted]
            own = [self.measure(m, "partnership") for m in wanted]
            return headline_rows(defs, yearly, own)

        return self.figure(f"headline:{','.join(wanted)}", build)

    def inequality(self, measure_id: str, period: str = "financial_year") -> pd.DataFrame:
        """SII, RII and the Core20 gap per ``period``
        (:func:`joinedup.measures.deprivation.inequality_for`)."""
        from joinedup.measures.deprivation import inequality_for

        d = self.definition(measure_id)
        return self.figure(
            f"inequality:{d.id}:{period}",
            inequality_for,
            self.wh,
            d,
            period,
            persist=True,
        )

    def funnel(
        self,
        measure_id: str,
        by: str = "practice",
        period: str = "financial_year",
        overdispersion: bool = False,
    ) -> pd.DataFrame:
        """The funnel table across the units of ``by`` in the newest ``period``
        (:func:`joinedup.measures.variation.funnel_of`); :class:`MeasureError` where no
        funnel applies (a mean, a standardised rate, too few units)."""
        from joinedup.measures.variation import funnel_of

        d = self.definition(measure_id)
        self._check(d, by, period)
        key = f"funnel:{d.id}:{by}:{period}:{overdispersion}"

        def build() -> pd.DataFrame | MeasureError:
            try:
                return funnel_of(d, self.measure(d.id, by, period), by, overdispersion)
            except MeasureError as exc:
                return exc

        found = self.figure(key, build)
        if isinstance(found, MeasureError):
            raise found
        return found

    def measure_data(self) -> pd.DataFrame:
        """Every measure by every grouping it allows, for its newest own period and its
        newest financial year (``period_kind`` says which): the board pack's data sheet."""
        from joinedup.measures.definition import GROUPINGS as ALL

        def build() -> pd.DataFrame:
            self.prefetch()  # every measure by every grouping, one pass per source
            self.prefetch(period="financial_year")
            frames = []
            for d in self.computable(self.library.values()):
                for kind in dict.fromkeys((d.period, "financial_year")):
                    for g in (g for g in ALL if g in d.groupings):
                        rows = self.latest(d.id, g, kind)
                        if len(rows):
                            frames.append(rows.assign(period_kind=kind))
            return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

        return self.figure("measure-data", build, persist=True)
