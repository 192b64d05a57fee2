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

from joinedup.access.accounts import User
from joinedup.access.identify import nhs_numbers, record_view
from joinedup.access.roles import ADMIN, IDENTIFIABLE
from joinedup.practice.attenders import frequent_attenders
from joinedup.practice.feed import (
    EVENT_LABELS,
    FEED_EVENTS,
    FEED_SOURCES,
    PracticeNotFound,
    activity_feed,
    feed_summary,
)
from joinedup.practice.timeliness import warnings_for
from joinedup.published import NotFound
from joinedup.published.practices import PROFILE_MEASURES
from joinedup.web.render import records
from joinedup.web.security import authorise

router = APIRouter(tags=["practices"])
Caller = Annotated[User, Depends(authorise)]
PracticeCode = Annotated[str, Path(pattern=r"^[A-Z][0-9]{5}$", description="ODS practice code")]
Days = Annotated[int, Query(ge=1, le=90, description="Days of data, ending on the newest held")]

FEED_REASON = "direct care: review of recent hospital activity"
ATTENDERS_REASON = "direct care: frequent attender review"
ADMIN_REASON = "administration (pseudonymised)"


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


def _person_level(request: Request, key: str, fn, *args, **kwargs):
    """A person-level read of the practice (:meth:`Figures.person_level`), an unknown
    practice a 404."""
    try:
        return request.app.state.figures.person_level(key, fn, *args, **kwargs)
    except PracticeNotFound as exc:
        raise NotFound(str(exc)) from None


def sources(request: Request) -> dict[str, Any]:
    """Latest date per source and warnings for late ones."""
    frame = request.app.state.figures.source_dates()
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


def _identified(
    request: Request,
    user: User,
    rows: list[dict[str, Any]],
    code: str,
    identifiable: bool,
    page: str,
    reason: str,
) -> None:
    """Audit the rows shown, with NHS numbers added for the practice's own clinicians."""
    state = request.app.state
    ids = [r["person_id"] for r in rows]
    if identifiable:
        numbers = nhs_numbers(
            state.accounts, state.settings.reidentification, user, ids, code, page, reason
        )
        for r in rows:
            r["nhs_number"] = numbers.get(r["person_id"])
    else:
        record_view(state.accounts, user, ids, code, page, reason)


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
    figures = request.app.state.figures
    ids = set(figures.casefinding(practice_code)["person_id"])
    feed = _person_level(
        request, f"feed:{practice_code}:{days}", activity_feed, practice_code, days,
        casefinding_ids=ids,
    )  # fmt: skip
    rows = feed
    if event:
        rows = rows[rows["event"] == event]
    if flagged_only:
        rows = rows[rows["reasons"] != ""]
    out = records(rows)
    default = FEED_REASON if identifiable else ADMIN_REASON
    _identified(request, user, out, practice_code, identifiable, page, reason or default)
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
    frame = _person_level(request, f"attenders:{practice_code}", frequent_attenders, practice_code)
    out = records(frame)
    default = ATTENDERS_REASON if identifiable else ADMIN_REASON
    _identified(request, user, out, practice_code, identifiable, page, reason or default)
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
    """The practice's published profile (every count 1-7 suppressed) for the page and
    the API, with its case-finding tiers and how fresh each source is."""
    figures = request.app.state.figures
    return {
        **figures.practice_profile(practice_code).as_dict(),
        "casefinding_tiers": figures.casefinding_tiers(practice_code),
        **sources(request),
    }


def practices_summary(request: Request, cluster: str | None, footprint: str | None) -> list[dict]:
    """Every practice (or one cluster's or footprint's) with this week's activity counts,
    suppressed over the whole table: what cluster and footprint leads see."""
    return records(request.app.state.figures.practices_week(cluster, footprint))


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
    return profile(request, code)


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


def _render(request: Request, template: str, context, cache: str | None = None) -> Response:
    from joinedup.web.render import render

    return render(
        request,
        template,
        context,
        cache=cache,
        extra={"event_labels": EVENT_LABELS, "sparkline": sparkline},
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
        lambda: {
            "practices": practices_summary(request, cluster, footprint),
            "cluster": cluster,
            "footprint": footprint,
            **sources(request),
        },
        cache=f"practices:{cluster}:{footprint}",
    )


@router.get("/practices/mine", name="practice_mine", include_in_schema=False)
def practice_mine(user: Caller) -> Response:
    """A clinician's own practice feed."""
    return RedirectResponse(f"/practices/{user.practice_code}/feed", status_code=303)


@router.get("/practices/{code}", name="practice_profile_page", include_in_schema=False)
def practice_profile_page(request: Request, user: Caller, code: PracticeCode) -> Response:
    """The practice profile (aggregates, suppressed)."""
    from joinedup.charts.population import pyramid_svg

    figures = request.app.state.figures
    figures.practice_name(code)  # an unknown practice is a 404, not a cached page

    def context() -> dict[str, Any]:
        p = profile(request, code)
        title = f"Registered list of {p['name']} by age and sex"
        return {"p": p, "pyramid_svg": pyramid_svg(figures.practice_profile(code).pyramid, title)}

    return _render(request, "practice_profile.html", context, cache=f"profile:{code}")


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
    if measure_id not in PROFILE_MEASURES or measure_id not in request.app.state.figures.library:
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
    from joinedup.web.charts import spc_svg

    figures = request.app.state.figures
    mid = _profile_measure(request, measure_id)
    figures.practice_name(code)
    return _svg(spc_svg(figures, mid, "practice", code))


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
    request.app.state.figures.practice_name(code)
    return _svg(funnel_svg(request.app.state.figures, mid, "practice", highlight=code))
