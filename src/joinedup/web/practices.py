"""A practice's own view in the web app: activity feed, frequent attenders, profile.

Who sees what:

- **Person-level pages** (the feed, frequent attenders, their downloads and the JSON
  API) are for the practice's own clinicians, with NHS numbers from the restricted
  re-identification store, and for the administrator, pseudonymised (person ids only).
  Anyone else is refused (403), including clinicians of another practice. Every view
  and export writes one audit row per patient shown (who, whose record, when, which
  page, why).
- **Aggregate pages** (the practice profile and the list of practices) are for every
  role: counts only, small numbers (1-7) suppressed with secondary suppression.

Each view states the latest date each source holds and warns when a source is late.
"""

from __future__ import annotations

import io
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from joinedup.measures.suppression import suppress
from joinedup.practice.attenders import frequent_attenders
from joinedup.practice.feed import (
    EVENT_LABELS,
    FEED_EVENTS,
    FEED_SOURCES,
    PracticeNotFound,
    activity_counts,
    activity_feed,
    feed_summary,
)
from joinedup.practice.profile import practice_profile
from joinedup.practice.timeliness import source_dates, warnings_for
from joinedup.web import accounts
from joinedup.web.accounts import User
from joinedup.web.api import jsonable
from joinedup.web.data import NotFound
from joinedup.web.roles import ADMIN, IDENTIFIABLE
from joinedup.web.security import authorise

router = APIRouter(tags=["practices"])
Caller = Annotated[User, Depends(authorise)]
PracticeCode = Annotated[str, Path(pattern=r"^[A-Z][0-9]{5}$", description="ODS practice code")]
Days = Annotated[int, Query(ge=1, le=90, description="Days of data, ending on the newest held")]

FEED_REASON = "direct care: review of recent hospital activity"
ATTENDERS_REASON = "direct care: frequent attender review"
ADMIN_REASON = "administration (pseudonymised)"
#: Headline measures a practice profile charts (practice grouping, suppressed).
PROFILE_MEASURES = (
    "emergency_admissions",
    "ae_attendances",
    "chronic_acsc_admissions",
    "emergency_readmissions_30d",
)


# -- access -----------------------------------------------------------------------------


def check_person_level(user: User, practice_code: str) -> bool:
    """Whether ``user`` may see ``practice_code``'s patients, and with NHS numbers;
    403 for anyone but that practice's clinicians and the administrator."""
    if user.role in IDENTIFIABLE:
        if practice_code != user.practice_code:
            raise HTTPException(403, "Clinicians see the patients of their own practice only.")
        return True
    if user.role == ADMIN:
        return False
    raise HTTPException(403, f"Your role ({user.role}) may not see patient-level practice data.")


def _read(request: Request, key: str, fn, *args, **kwargs):
    """:meth:`DataService.memoised`, with an unknown practice as a 404."""
    try:
        return request.app.state.data.memoised(key, fn, *args, **kwargs)
    except PracticeNotFound as exc:
        raise NotFound(str(exc)) from None


def sources(request: Request) -> dict[str, Any]:
    """Latest date per source and warnings for late ones."""
    frame = _read(request, "practice:sources", source_dates)
    return {
        "newest": None if frame.attrs["newest"] is None else frame.attrs["newest"].isoformat(),
        "sources": [
            {
                "source": r.source,
                "label": r.label,
                "latest": None if r.latest is None else r.latest.isoformat(),
                "days_behind": None if r.days_behind is None else int(r.days_behind),
                "late": bool(r.late),
            }
            for r in frame.itertuples()
        ],
        "warnings": warnings_for(frame, FEED_SOURCES),
        "all_warnings": warnings_for(frame),
    }


def _casefinding_ids(request: Request, practice_code: str) -> set[str]:
    data = request.app.state.data
    key = f"practice:casefinding:{practice_code}"
    return data.memoised(key, lambda _wh: set(data.casefinding_ids(practice_code)))


def _audit(request: Request, user: User, ids: list[str], code: str, page: str, reason: str):
    accounts.record_access(
        request.app.state.accounts,
        user,
        list(dict.fromkeys(ids)),
        code,
        page,
        reason[:500],
    )


def practice_feed(
    request: Request,
    user: User,
    practice_code: str,
    days: int,
    page: str,
    reason: str | None = None,
    event: str | None = None,
    flagged_only: bool = False,
) -> dict[str, Any]:
    """The feed ``user`` may see (403 otherwise), audited: one audit row per patient."""
    identifiable = check_person_level(user, practice_code)
    if event is not None and event not in FEED_EVENTS:
        raise HTTPException(422, f"event {event!r}: expected one of {', '.join(FEED_EVENTS)}")
    ids = _casefinding_ids(request, practice_code)
    feed = _read(
        request, f"practice:feed:{practice_code}:{days}", activity_feed, practice_code, days,
        casefinding_ids=ids,
    )  # fmt: skip
    rows = feed
    if event:
        rows = rows[rows["event"] == event]
    if flagged_only:
        rows = rows[rows["reasons"] != ""]
    out = [{k: jsonable(v) for k, v in r.items()} for r in rows.to_dict("records")]
    if identifiable:
        numbers = request.app.state.data.nhs_numbers([r["person_id"] for r in out])
        for r in out:
            r["nhs_number"] = numbers.get(r["person_id"])
    default = FEED_REASON if identifiable else ADMIN_REASON
    _audit(request, user, [r["person_id"] for r in out], practice_code, page, reason or default)
    return {
        "practice_code": practice_code,
        "practice_name": feed.attrs["practice_name"],
        "start": feed.attrs["start"].isoformat(),
        "end": feed.attrs["end"].isoformat(),
        "days": days,
        "identifiable": identifiable,
        "summary": feed_summary(rows).to_dict("records"),
        "rows": out,
        **sources(request),
    }


def practice_attenders(
    request: Request, user: User, practice_code: str, page: str, reason: str | None = None
) -> dict[str, Any]:
    """Frequent attenders ``user`` may see (403 otherwise), audited."""
    identifiable = check_person_level(user, practice_code)
    frame = _read(request, f"practice:attenders:{practice_code}", frequent_attenders, practice_code)
    out = [{k: jsonable(v) for k, v in r.items()} for r in frame.to_dict("records")]
    if identifiable:
        numbers = request.app.state.data.nhs_numbers([r["person_id"] for r in out])
        for r in out:
            r["nhs_number"] = numbers.get(r["person_id"])
    default = ATTENDERS_REASON if identifiable else ADMIN_REASON
    _audit(request, user, [r["person_id"] for r in out], practice_code, page, reason or default)
    a = frame.attrs
    return {
        "practice_code": practice_code,
        "practice_name": a["practice_name"],
        "start": a["start"].isoformat(),
        "end": a["end"].isoformat(),
        "min_ae": a["min_ae"],
        "min_admissions": a["min_admissions"],
        "months": [m.isoformat() for m in a["months"]],
        "identifiable": identifiable,
        "patients": out,
        **sources(request),
    }


def profile(request: Request, practice_code: str) -> dict[str, Any]:
    """The practice's profile as aggregates, every count 1-7 suppressed."""
    p = _read(request, f"practice:profile:{practice_code}", practice_profile, practice_code)
    pyramid = suppress(p.pyramid, ["people"], total_groups=[["age_band"], ["sex"]]).frame
    prev = p.prevalence.reset_index(drop=True)
    prev = suppress(
        prev,
        ["observed"],
        derived={"observed": ["prevalence", "ratio", "lower", "upper", "flag"]},
    ).frame
    week = _read(request, "practice:week", activity_counts, 7)
    mine = week[week["practice_code"] == practice_code]
    summary = pd.DataFrame(
        {
            "event": list(FEED_EVENTS),
            "label": [EVENT_LABELS[e] for e in FEED_EVENTS],
            "count": [int(mine[e].iloc[0]) if len(mine) else 0 for e in FEED_EVENTS],
        }
    )
    summary = suppress(summary, ["count"], total_groups=[[]]).frame
    data = request.app.state.data
    tiers = data.casefinding_tiers(practice_code)
    return {
        "practice_code": p.practice_code,
        "name": p.name,
        "cluster_code": p.cluster_code,
        "footprint_code": p.footprint_code,
        "as_of": p.as_of.isoformat(),
        "list_size": p.list_size if p.list_size > 7 else None,
        "pyramid": pyramid,
        "prevalence": [{k: jsonable(v) for k, v in r.items()} for r in prev.to_dict("records")],
        "peers": [
            {
                "practice_code": r.practice_code,
                "name": r.name,
                "list_size": int(r.list_size),
                "share_65_plus": round(float(r.share_65_plus), 4),
                "mean_imd_decile": None if pd.isna(r.mean_imd) else round(float(r.mean_imd), 2),
            }
            for r in p.peers.itertuples()
        ],
        "this_week": {
            "start": week.attrs["start"].isoformat(),
            "end": week.attrs["end"].isoformat(),
            "counts": [{k: jsonable(v) for k, v in r.items()} for r in summary.to_dict("records")],
        },
        "casefinding_tiers": tiers,
        "measures": measure_comparison(request, practice_code, p.peer_codes),
        **sources(request),
    }


def measure_comparison(request: Request, code: str, peers: list[str]) -> list[dict[str, Any]]:
    """Each profile measure over the last 12 periods: the practice, its peers pooled,
    and the partnership (values from the suppressed practice table), and whether the
    practice's SPC chart and the funnel can be drawn."""
    from joinedup.web.charts import funnel_svg, group_spc_svg

    data = request.app.state.data
    out = []
    for mid in PROFILE_MEASURES:
        if mid not in data.library:
            continue
        d = data.definition(mid)
        table = data.measure_recent(mid, "practice")
        mine = table[table["group"] == code]
        peer = table[table["group"].isin(peers)]["value"].dropna()
        whole = data.measure_recent(mid, "partnership")
        out.append(
            {
                "id": mid,
                "title": d.title,
                "unit": d.unit,
                "practice": None if mine.empty else jsonable(mine["value"].iloc[0]),
                "peer_median": None if peer.empty else float(peer.median()),
                "partnership": None if whole.empty else jsonable(whole["value"].iloc[0]),
                "first_period": table.attrs.get("first"),
                "last_period": table.attrs.get("last"),
                "spc": group_spc_svg(data, mid, "practice", code) is not None,
                "funnel": funnel_svg(data, mid, "practice", highlight=code) is not None,
            }
        )
    return out


def practices_summary(request: Request, cluster: str | None, footprint: str | None) -> list[dict]:
    """Every practice (or one cluster's or footprint's) with this week's activity counts,
    suppressed over the whole table: what cluster and footprint leads see."""
    pr = _read(
        request,
        "practice:all",
        lambda wh: (
            wh.table("practice")
            .select("practice_code", "name", "cluster_code", "footprint_code")
            .execute()
        ),
    )
    if cluster:
        pr = pr[pr["cluster_code"] == cluster]
    if footprint:
        pr = pr[pr["footprint_code"] == footprint]
    week = _read(request, "practice:week", activity_counts, 7)
    frame = week[week["practice_code"].isin(set(pr["practice_code"]))]
    long = frame.melt("practice_code", var_name="event", value_name="count")
    safe = suppress(long, ["count"], total_groups=[["event"], ["practice_code"]]).frame
    wide = safe.pivot(index="practice_code", columns="event", values="count")
    out = []
    for r in pr.sort_values("practice_code").itertuples():
        counts = wide.loc[r.practice_code] if r.practice_code in wide.index else {}
        out.append(
            {
                "practice_code": r.practice_code,
                "name": r.name,
                "cluster_code": r.cluster_code,
                "footprint_code": r.footprint_code,
                **{e: jsonable(counts.get(e, float("nan"))) for e in FEED_EVENTS},
            }
        )
    return out


def download(rows: list[dict[str, Any]], fmt: str, name: str, identifiable: bool) -> Response:
    """Rows as a CSV or Excel download (NHS number first for clinicians)."""
    frame = pd.DataFrame(rows)
    if identifiable and "nhs_number" in frame:
        frame = frame[["nhs_number", *[c for c in frame.columns if c != "nhs_number"]]]
    for c in frame.columns:
        if frame[c].map(lambda v: isinstance(v, list)).any():
            frame[c] = frame[c].map(lambda v: " ".join(map(str, v)) if isinstance(v, list) else v)
    if fmt == "csv":
        body = frame.to_csv(index=False).encode()
        media = "text/csv; charset=utf-8"
    else:
        buf = io.BytesIO()
        frame.to_excel(buf, index=False, sheet_name="feed")
        body = buf.getvalue()
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


# -- JSON API ---------------------------------------------------------------------------


@router.get("/api/practices/{code}/feed", name="api_practice_feed")
def api_practice_feed(
    request: Request,
    user: Caller,
    code: PracticeCode,
    days: Days = 7,
    event: Annotated[str | None, Query(max_length=32)] = None,
    reason: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    """The practice's registered patients' A&E attendances, emergency admissions and
    discharges over the last ``days`` days of data. Only that practice's clinicians
    (with ``nhs_number``) and the administrator (pseudonymised); every read audited."""
    return practice_feed(request, user, code, days, f"/api/practices/{code}/feed", reason, event)


@router.get("/api/practices/{code}/attenders", name="api_practice_attenders")
def api_practice_attenders(
    request: Request,
    user: Caller,
    code: PracticeCode,
    reason: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    """Frequent attenders of the practice (same access and audit as the feed)."""
    return practice_attenders(request, user, code, f"/api/practices/{code}/attenders", reason)


@router.get("/api/practices/{code}/profile", name="api_practice_profile")
def api_practice_profile(request: Request, user: Caller, code: PracticeCode) -> dict[str, Any]:
    """The practice's profile: list size, age structure, prevalence against expected,
    peers, this week's activity counts and measures against peers (suppressed)."""
    out = profile(request, code)
    out["pyramid"] = out["pyramid"].to_dict("records")
    return {k: jsonable(v) if not isinstance(v, list | dict) else v for k, v in out.items()}


@router.get("/api/practices", name="api_practices")
def api_practices(
    request: Request,
    user: Caller,
    cluster: Annotated[str | None, Query(max_length=32)] = None,
    footprint: Annotated[str | None, Query(max_length=32)] = None,
) -> list[dict[str, Any]]:
    """Practices with this week's activity counts (suppressed)."""
    return practices_summary(request, cluster, footprint)


# -- pages ------------------------------------------------------------------------------


def sparkline(values: list[int]) -> str:
    """A small inline SVG bar chart of monthly counts, with the numbers as its label."""
    from html import escape

    top = max(values) if values else 0
    bar, gap, height = 6, 2, 24
    bars = "".join(
        f'<rect x="{i * (bar + gap)}" y="{height - (height * v / top if top else 0):.1f}" '
        f'width="{bar}" height="{(height * v / top if top else 0):.1f}" fill="#005EB8"/>'
        for i, v in enumerate(values)
    )
    label = escape("Events per month: " + ", ".join(str(v) for v in values), quote=True)
    width = len(values) * (bar + gap)
    return (
        f'<svg role="img" aria-label="{label}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{label}</title>'
        f'<line x1="0" y1="{height}" x2="{width}" y2="{height}" stroke="#d8dde0"/>{bars}</svg>'
    )


def _render(request: Request, template: str, context: dict[str, Any]) -> Response:
    from joinedup.web.pages import render

    return render(
        request, template, {"event_labels": EVENT_LABELS, "sparkline": sparkline, **context}
    )


@router.get("/practices", name="practices_page", include_in_schema=False)
def practices_page(
    request: Request,
    user: Caller,
    cluster: Annotated[str | None, Query(max_length=32)] = None,
    footprint: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """Practices with this week's counts; a clinician's own practice first."""
    return _render(
        request,
        "practices.html",
        {
            "practices": practices_summary(request, cluster, footprint),
            "cluster": cluster,
            "footprint": footprint,
            **sources(request),
        },
    )


@router.get("/practices/mine", name="practice_mine", include_in_schema=False)
def practice_mine(user: Caller) -> Response:
    """A clinician's own practice feed."""
    return RedirectResponse(f"/practices/{user.practice_code}/feed", status_code=303)


@router.get("/practices/{code}", name="practice_profile_page", include_in_schema=False)
def practice_profile_page(request: Request, user: Caller, code: PracticeCode) -> Response:
    """The practice profile (aggregates, suppressed)."""
    from joinedup.web.svg import pyramid_svg

    p = profile(request, code)
    chart = pyramid_svg(p["pyramid"], title=f"Registered list of {p['name']} by age and sex")
    return _render(request, "practice_profile.html", {"p": p, "pyramid_svg": chart})


@router.get("/practices/{code}/feed", name="practice_feed_page", include_in_schema=False)
def practice_feed_page(
    request: Request,
    user: Caller,
    code: PracticeCode,
    days: Days = 7,
    event: Annotated[str | None, Query(max_length=32)] = None,
    flagged: bool = False,
) -> Response:
    """This week's attendances, admissions and discharges of the practice's patients."""
    feed = practice_feed(
        request, user, code, days, f"/practices/{code}/feed", None, event or None, flagged
    )
    return _render(
        request,
        "practice_feed.html",
        {"feed": feed, "event": event or "", "flagged": flagged, "events": FEED_EVENTS},
    )


@router.get("/practices/{code}/feed.{fmt}", name="practice_feed_download", include_in_schema=False)
def practice_feed_download(
    request: Request,
    user: Caller,
    code: PracticeCode,
    fmt: Annotated[str, Path(pattern="^(csv|xlsx)$")],
    days: Days = 7,
    event: Annotated[str | None, Query(max_length=32)] = None,
    flagged: bool = False,
) -> Response:
    """The feed as CSV or Excel (audited as an export)."""
    feed = practice_feed(
        request, user, code, days, f"/practices/{code}/feed.{fmt} (export)", None,
        event or None, flagged,
    )  # fmt: skip
    name = f"feed-{code}-{feed['start']}-to-{feed['end']}"
    return download(feed["rows"], fmt, name, feed["identifiable"])


@router.get("/practices/{code}/attenders", name="practice_attenders_page", include_in_schema=False)
def practice_attenders_page(request: Request, user: Caller, code: PracticeCode) -> Response:
    """Frequent attenders with their month-by-month pattern."""
    found = practice_attenders(request, user, code, f"/practices/{code}/attenders")
    return _render(request, "practice_attenders.html", {"a": found})


@router.get(
    "/practices/{code}/attenders.{fmt}",
    name="practice_attenders_download",
    include_in_schema=False,
)
def practice_attenders_download(
    request: Request,
    user: Caller,
    code: PracticeCode,
    fmt: Annotated[str, Path(pattern="^(csv|xlsx)$")],
) -> Response:
    """Frequent attenders as CSV or Excel (audited as an export)."""
    found = practice_attenders(request, user, code, f"/practices/{code}/attenders.{fmt} (export)")
    return download(found["patients"], fmt, f"frequent-attenders-{code}", found["identifiable"])


def _svg(content: bytes | None) -> Response:
    if content is None:
        raise HTTPException(404, "There are not enough unsuppressed values to draw this chart.")
    return Response(content, media_type="image/svg+xml")


def _profile_measure(request: Request, measure_id: str) -> str:
    if measure_id not in PROFILE_MEASURES or measure_id not in request.app.state.data.library:
        raise NotFound(f"no practice chart for measure {measure_id!r}")
    return measure_id


@router.get(
    "/practices/{code}/measures/{measure_id}/spc.svg",
    name="practice_spc_svg",
    include_in_schema=False,
)
def practice_spc_svg(
    request: Request, user: Caller, code: PracticeCode, measure_id: str
) -> Response:
    """The practice's own SPC chart of a profile measure (suppressed months left out)."""
    from joinedup.web.charts import group_spc_svg

    data = request.app.state.data
    mid = _profile_measure(request, measure_id)
    return _svg(group_spc_svg(data, mid, "practice", code))


@router.get(
    "/practices/{code}/measures/{measure_id}/funnel.svg",
    name="practice_funnel_svg",
    include_in_schema=False,
)
def practice_funnel_svg(
    request: Request, user: Caller, code: PracticeCode, measure_id: str
) -> Response:
    """Funnel of all practices on a profile measure, this practice ringed."""
    from joinedup.web.charts import funnel_svg

    mid = _profile_measure(request, measure_id)
    return _svg(funnel_svg(request.app.state.data, mid, "practice", highlight=code))
