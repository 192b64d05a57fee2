"""Published figures about practices: each practice's profile and the week's activity.

The profile's counts leave suppressed: the age-sex structure with both margins
protected (and a band's share of the list only where both its cells are shown, since
the list size is published beside it), prevalence with what derives from the
register count, this week's activity against the practice's total. Person-level views
of a practice (its feed, frequent attenders) are not here: they are read for the
callers allowed them, and audited, by the web app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from joinedup.measures.definition import MeasureError
from joinedup.measures.suppression import suppress
from joinedup.practice.feed import EVENT_LABELS, FEED_EVENTS
from joinedup.practice.profile import PracticeProfile
from joinedup.published.base import Base, NotFound, number

#: Measures a practice profile compares (practice grouping, latest financial year).
PROFILE_MEASURES = (
    "emergency_admissions",
    "ae_attendances",
    "chronic_acsc_admissions",
    "emergency_readmissions_30d",
)


@dataclass(frozen=True)
class PublishedProfile:
    """A practice's profile as it may leave: every count suppressed."""

    practice_code: str
    name: str
    cluster_code: str
    footprint_code: str
    as_of: str
    list_size: int | None
    pyramid: pd.DataFrame  # age_band, sex, people (suppressed), partnership_share
    age_bands: pd.DataFrame  # age_band, people, share_of_list, partnership_share
    prevalence: pd.DataFrame  # condition, observed, expected, prevalence, ratio, ...
    peers: list[dict[str, Any]]
    this_week: dict[str, Any]
    measures: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The profile as plain, JSON-ready values (missing figures None): what the API
        and ``joinedup practice profile --format json`` give."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, pd.DataFrame):
                value = _records(value)
            elif name == "this_week":
                value = {**value, "counts": _records(value["counts"])}
            out[name] = value
        return out


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    from joinedup.published.opportunity import records

    return records(frame)


def age_bands(pyramid: pd.DataFrame, list_size: int | None) -> pd.DataFrame:
    """People by age band (both sexes) from a suppressed pyramid: a band's count and its
    share of the list only where both of its cells are shown (a hidden cell's band total
    beside the published list size would give it away), and the partnership's share."""
    g = pyramid.groupby("age_band", sort=False)
    people = g["people"].sum(min_count=2).where(g["people"].count() == 2).astype("Int64")
    out = pd.DataFrame(
        {
            "age_band": people.index,
            "people": people.array,
            "partnership_share": g["partnership_share"].sum().to_numpy(),
        }
    )
    size = float(list_size) if list_size else float("nan")
    out["share_of_list"] = out["people"].astype("Float64") / size
    return out[["age_band", "people", "share_of_list", "partnership_share"]]


def publish_profile(
    p: PracticeProfile,
    pyramid: pd.DataFrame,
    week: pd.DataFrame,
    measures: list[dict[str, Any]],
) -> PublishedProfile:
    """The profile ``p`` made safe to leave: ``pyramid`` is the practice's suppressed
    age-sex pyramid (:func:`joinedup.published.population.safe_pyramid`), ``week``
    every practice's activity counts (``practice.feed.activity_counts``)."""
    list_size = p.list_size if p.list_size > 7 else None
    prevalence = suppress(
        p.prevalence.reset_index(drop=True),
        ["observed"],
        derived={"observed": ["prevalence", "ratio", "lower", "upper", "flag"]},
    ).frame
    mine = week[week["practice_code"] == p.practice_code]
    counts = pd.DataFrame(
        {
            "event": list(FEED_EVENTS),
            "label": [EVENT_LABELS[e] for e in FEED_EVENTS],
            "count": [int(mine[e].iloc[0]) if len(mine) else 0 for e in FEED_EVENTS],
        }
    )
    counts = suppress(counts, ["count"], total_groups=[[]]).frame
    peers = [
        {
            "practice_code": r.practice_code,
            "name": r.name,
            "list_size": int(r.list_size),
            "share_65_plus": round(float(r.share_65_plus), 4),
            "mean_imd_decile": None if pd.isna(r.mean_imd) else round(float(r.mean_imd), 2),
        }
        for r in p.peers.itertuples()
    ]
    return PublishedProfile(
        practice_code=p.practice_code,
        name=p.name,
        cluster_code=p.cluster_code,
        footprint_code=p.footprint_code,
        as_of=p.as_of.isoformat(),
        list_size=list_size,
        pyramid=pyramid,
        age_bands=age_bands(pyramid, list_size),
        prevalence=prevalence,
        peers=peers,
        this_week={
            "start": week.attrs["start"].isoformat(),
            "end": week.attrs["end"].isoformat(),
            "counts": counts,
        },
        measures=measures,
    )


def practices_week(practices: pd.DataFrame, week: pd.DataFrame) -> pd.DataFrame:
    """Every practice of ``practices`` with this week's counts (``week``: every
    practice's activity counts), suppressed over the whole table (each practice's and
    each event's total)."""
    frame = week[week["practice_code"].isin(set(practices["practice_code"]))]
    long = frame.melt("practice_code", var_name="event", value_name="count")
    safe = suppress(long, ["count"], total_groups=[["event"], ["practice_code"]]).frame
    wide = safe.pivot(index="practice_code", columns="event", values="count")
    out = practices.sort_values("practice_code").reset_index(drop=True)
    for e in FEED_EVENTS:
        out[e] = out["practice_code"].map(wide.get(e, {})).astype("Float64")
    return out


class PracticeFigures(Base):
    """Practices and their profiles in :class:`~joinedup.published.figures.Figures`."""

    def practices(self) -> pd.DataFrame:
        """Every practice: code, name, cluster and footprint."""
        return self.figure(
            "practices",
            lambda: (
                self.wh.table("practice")
                .select("practice_code", "name", "cluster_code", "footprint_code")
                .to_pandas()
                .sort_values("practice_code")
                .reset_index(drop=True)
            ),
        )

    def practice_name(self, practice_code: str) -> str:
        """The practice's name; :class:`NotFound` for an unknown code."""
        pr = self.practices()
        found = pr.loc[pr["practice_code"] == practice_code, "name"]
        if found.empty:
            raise NotFound(f"no practice with code {practice_code!r}")
        return str(found.iloc[0])

    def activity_week(self) -> pd.DataFrame:
        """Every practice's A&E attendances, emergency admissions and discharges in the
        newest 7 days (unsuppressed counts: use :meth:`practices_week`)."""
        from joinedup.practice.feed import activity_counts

        return self.figure("activity-week", activity_counts, self.wh, 7)

    def practices_week(
        self, cluster: str | None = None, footprint: str | None = None
    ) -> pd.DataFrame:
        """Every practice (or one cluster's or footprint's) with the week's activity
        counts, suppressed over the table of all practices (so that no filter shows a
        cell another hides)."""
        table = self.figure(
            "practices-week", lambda: practices_week(self.practices(), self.activity_week())
        )
        if cluster:
            table = table[table["cluster_code"] == cluster]
        if footprint:
            table = table[table["footprint_code"] == footprint]
        return table.reset_index(drop=True)

    def practice_profile(self, practice_code: str) -> Any:
        """The practice's profile, every count suppressed
        (:class:`joinedup.published.practices.PublishedProfile`)."""
        from joinedup.published.population import safe_pyramid

        self.practice_name(practice_code)

        def build() -> Any:
            p = self._profiles()[practice_code]
            return publish_profile(
                p,
                safe_pyramid(p.pyramid),
                self.activity_week(),
                self.practice_measures(practice_code, p.peer_codes),
            )

        return self.figure(f"profile:{practice_code}", build, persist=True)

    def _profiles(self) -> dict[str, Any]:
        """Every practice's profile on :meth:`census_day`, counted in one pass
        (``practice.profile.practice_profiles``; unsuppressed, so kept in memory only)."""
        from joinedup.practice.profile import practice_profiles

        return self.figure("practice-profiles", practice_profiles, self.wh, self.census_day())

    def practice_measures(self, practice_code: str, peers: list[str]) -> list[dict[str, Any]]:
        """Each profile measure in its newest financial year: the practice, the median of
        its peers and the partnership (published values), and whether the practice's SPC
        chart and the funnel can be drawn."""
        out = []
        for mid in PROFILE_MEASURES:
            if mid not in self.library:
                continue
            d = self.library[mid]
            table = self.latest(mid, "practice", "financial_year")
            mine = table[table["group"] == practice_code]
            peer = table[table["group"].isin(peers)]["value"].dropna()
            whole = self.latest(mid, "partnership", "financial_year")
            try:
                self.spc(mid, "practice", practice_code)
                spc = True
            except MeasureError:
                spc = False
            try:
                self.funnel(mid, "practice")
                funnel = True
            except MeasureError:
                funnel = False
            out.append(
                {
                    "id": mid,
                    "title": d.title,
                    "unit": d.unit,
                    "period": None if table.empty else str(table["period"].iloc[0]),
                    "practice": None if mine.empty else number(mine["value"].iloc[0]),
                    "peer_median": None if peer.empty else float(peer.astype(float).median()),
                    "partnership": None if whole.empty else number(whole["value"].iloc[0]),
                    "spc": spc,
                    "funnel": funnel,
                }
            )
        return out

    def source_dates(self) -> pd.DataFrame:
        """The newest date each source holds (``practice.timeliness.source_dates``)."""
        from joinedup.practice.timeliness import source_dates

        return self.figure("source-dates", source_dates, self.wh)
