# ruff: noqa: E501  (the demo data tables read best one record a line)
"""The demo partnership: a fictional partnership shaped like those in the partnership papers.

Its structure follows the papers: a board chaired by a non-executive director that
reports to the partners' own boards twice a year, an operational clinician /
management group in which each workstream is led by a clinician with a "managerial
buddy", a clinical reference group and a patient and public advisory forum; the seven
criteria for choosing work; candidate areas from the 2008 paper; innovations like
those the programme sponsored (orthopaedic triage, community diabetes, COPD and pain
services, telephone care management, integrated neighbourhood teams; the last two
name the programme the warehouse evaluates); service standards assessed across
providers; and an "Our Commitment" signed partner by partner. Organisations and people are
invented. Dates are set relative to ``today`` so that the ratings look like a
programme in mid-flight whenever the demo is loaded; the same ``today`` gives the
same programme.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.programme import service
from joinedup.programme.errors import ProgrammeError
from joinedup.programme.models import (
    Commitment,
    CommitmentSignoff,
    Decision,
    DecisionResponse,
    Deliverable,
    Group,
    GroupMember,
    Innovation,
    InnovationPartner,
    Milestone,
    Organisation,
    Partnership,
    Proposal,
    ProviderAssessment,
    Risk,
    Standard,
    StandardsCatalogue,
    Workstream,
)

ORGANISATIONS = [
    # code, name, kind, governing body, what it keeps sovereign
    ("NBICB", "Northbrook Integrated Care Board", "commissioner", "ICB Board",
     "Statutory commissioning duties and the allocation; contracts with providers"),
    ("NBH", "Northbrook Hospitals NHS Foundation Trust", "acute_trust", "Board of Directors",
     "Licence and foundation trust duties; clinical governance of hospital services"),
    ("EGH", "Eastfield General Hospital NHS Foundation Trust", "acute_trust", "Board of Directors",
     "Licence and foundation trust duties; clinical governance of hospital services"),
    ("NBCH", "Northbrook Community Health NHS Trust", "community_trust", "Trust Board",
     "Community services contracts and clinical governance; its estate"),
    ("NBMH", "Northbrook and District Mental Health NHS Foundation Trust",
     "mental_health_trust", "Board of Directors",
     "Mental Health Act duties; clinical governance of mental health services"),
    ("NBC", "Northbrook Borough Council", "council", "Cabinet",
     "Adult social care and public health duties; council budgets and eligibility"),
    ("NBGP", "Northbrook GP Federation", "gp_federation", "Federation Board",
     "Each practice's GMS/PMS contract and registered list"),
    ("HWNB", "Healthwatch Northbrook", "healthwatch", "Healthwatch Board",
     "Independence as the statutory patient voice"),
]  # fmt: skip

GROUPS = [
    # name, kind, purpose, meets, reports to
    ("Partnership Board", "board",
     "Ensures the work programme signed off by the partners is delivered; reports to "
     "the partners' boards twice a year", "Quarterly", None),
    ("Operational Clinician / Management Group", "operational_group",
     "Delivers the agreed work programme on the ground and to agreed timescales; a lead "
     "clinician from each partner with a managerial buddy", "Monthly", "Partnership Board"),
    ("Clinical Reference Group", "clinical_reference_group",
     "Clinical assurance; keeps the work connected to each partner's clinical objectives",
     "Bi-monthly", "Partnership Board"),
    ("Patient and Public Advisory Forum", "patient_public_forum",
     "Early advice on the programme's work and on engaging at locality level",
     "Quarterly", "Partnership Board"),
]  # fmt: skip

MEMBERS = [
    # group, name, job title, role, organisation
    ("Partnership Board", "Margaret Ellison", "Non-executive director (rotating chair)", "chair", "NBH"),
    ("Partnership Board", "Daniel Okafor", "Chief executive", "member", "NBICB"),
    ("Partnership Board", "Helen Marsh", "Chief executive", "member", "NBH"),
    ("Partnership Board", "Graham Boyd", "Chief executive", "member", "NBCH"),
    ("Partnership Board", "Ruth Adeyemi", "Director of adult social care", "member", "NBC"),
    ("Partnership Board", "Dr Sunil Rao", "Medical director", "member", "NBH"),
    ("Partnership Board", "Jo Whitfield", "Programme secretariat", "secretariat", "NBICB"),
    ("Operational Clinician / Management Group", "Dr Priya Natarajan", "Consultant stroke physician", "chair", "NBH"),
    ("Operational Clinician / Management Group", "Tom Hallam", "Head of transformation", "managerial_buddy", "NBICB"),
    ("Operational Clinician / Management Group", "Dr Alan Greaves", "GP, clinical director", "clinical_lead", "NBGP"),
    ("Operational Clinician / Management Group", "Sarah Kent", "Lead commissioner, adult care", "managerial_buddy", "NBC"),
    ("Clinical Reference Group", "Dr Fiona Lister", "GP clinical commissioner", "chair", "NBICB"),
    ("Patient and Public Advisory Forum", "Peter Quinn", "Healthwatch volunteer", "public_representative", "HWNB"),
]  # fmt: skip

# code, name, care pathway, priority, exec lead, clinical lead, buddy, problem, focus,
# desired outcome, objectives, phase, measures [(library id, baseline, target)],
# milestones [(title, owner, due offset days, status, forecast offset or None)]
WORKSTREAMS = [
    ("STR", "Stroke", "Long-term conditions", 1, "Helen Marsh", "Dr Priya Natarajan", "Tom Hallam",
     "Variation in outcomes and against stroke standards; workforce sustainability",
     "Hyperacute and acute stroke care, early supported discharge",
     "Compliant, safe and sustainable stroke services for the whole population",
     "Meet the hyperacute standards at both hospitals; early supported discharge seven days a week",
     "Phase 1: case for change",
     [("stroke_emergency_admissions", 212.0, 190.0)],
     [("Case for change agreed by the Board", "Tom Hallam", -75, "complete", None),
      ("Options appraisal for hyperacute units", "Dr Priya Natarajan", 20, "in_progress", 45),
      ("Early supported discharge business case", "Tom Hallam", 110, "not_started", None)]),
    ("FOP", "Frail older people", "Long-term conditions", 1, "Graham Boyd", "Dr Alan Greaves", "Sarah Kent",
     "Frail older people admitted in crisis, long stays, discharge to care homes",
     "Case finding in GP clusters, integrated community teams, reablement",
     "Fewer emergency admissions and bed days for people over 75; more people at home",
     "Risk-stratified case lists in every cluster; asset-based reablement after discharge",
     "Phase 2: implementation",
     [("emergency_admissions_75plus", 410.0, 370.0),
      ("emergency_bed_days", 98000.0, 90000.0)],
     [("Case-finding lists live in all GP clusters", "Dr Alan Greaves", -20, "complete", None),
      ("Integrated community teams in two footprints", "Sarah Kent", -10, "in_progress", None),
      ("Reablement pathway agreed with the council", "Sarah Kent", 25, "not_started", None)]),
    ("DIA", "Diabetes", "Long-term conditions", 2, "Daniel Okafor", "Dr Meera Shah", "Lucy Barnes",
     "Unwarranted variation in the care processes and in admissions for complications",
     "Community diabetes service and practice-level care processes",
     "All eight care processes delivered; fewer admissions for diabetic complications",
     "Extend the community diabetes service; practice dashboards of care processes",
     "Phase 2: implementation",
     [("diabetes_emergency_admissions", 3.1, 2.7)],
     [("Practice dashboards of care processes", "Lucy Barnes", -40, "complete", None),
      ("Community diabetes service extended to all clusters", "Dr Meera Shah", 60, "in_progress", None)]),
    ("COPD", "COPD", "Long-term conditions", 2, "Graham Boyd", "Dr Kwame Mensah", "Anna Price",
     "High emergency admission and readmission rates for COPD in deprived areas",
     "Community COPD service, pulmonary rehabilitation, self-management plans",
     "Fewer COPD admissions and readmissions; more people with a self-management plan",
     "Pulmonary rehabilitation capacity doubled; rescue packs and plans for high-risk patients",
     "Phase 2: implementation",
     [("copd_emergency_admissions", 2.4, 2.0)],
     [("Pulmonary rehabilitation procurement", "Anna Price", 40, "at_risk", None),
      ("Self-management plans for the top 5% at risk", "Dr Kwame Mensah", 90, "in_progress", None)]),
    ("LBP", "Lower back pain", "Planned care", 3, "Helen Marsh", "Mr James Holt", "Anna Price",
     "Rising referrals to orthopaedics and imaging for simple back pain",
     "Triage and community pain management",
     "Patients seen by the right service first time; fewer unnecessary scans and referrals",
     "Single point of triage; community pain management for chronic back pain",
     "Phase 1: case for change",
     [("outpatient_first_followup_ratio", 2.3, 1.9)],
     [("Referral audit across practices", "Mr James Holt", -5, "in_progress", None),
      ("Single point of triage specified", "Anna Price", 75, "not_started", None)]),
    ("UEC", "Unscheduled care", "Urgent care", 1, "Daniel Okafor", "Dr Rachel Obi", "Tom Hallam",
     "Sustainability and variability of urgent care; lack of coordination",
     "Urgent care response, A&E front door, ambulatory care",
     "People seen in the right place first time; four-hour standard met",
     "Scoping against the national urgent care review; ambulatory assessment expanded",
     "Phase 1: case for change",
     [("ae_within_4_hours", 0.71, 0.78), ("ae_attendances", 126000.0, 118000.0)],
     [("Scoping exercise against the national review", "Dr Rachel Obi", -30, "blocked", None),
      ("Ambulatory assessment area expansion", "Tom Hallam", 50, "in_progress", 65)]),
    ("EOL", "End of life", "End of life", 2, "Ruth Adeyemi", "Dr Clare Dunmore", "Lucy Barnes",
     "Most people die in hospital although most would prefer not to",
     "Advance care planning and 24/7 community palliative support",
     "More people die in their usual place of residence; fewer admissions in the last 90 days",
     "Advance care plans shared across partners; 24/7 palliative advice line",
     "Phase 2: implementation",
     [("deaths_in_usual_place_of_residence", 0.44, 0.52),
      ("emergency_admissions_last_90_days_of_life", 1.9, 1.6)],
     [("Shared advance care plan template", "Dr Clare Dunmore", -60, "complete", None),
      ("24/7 palliative advice line live", "Lucy Barnes", 120, "in_progress", None)]),
    ("MAC", "Maternity and children", "Maternity and children", 2, "Helen Marsh",
     "Dr Hannah Clarke", "Sarah Kent",
     "Variation in compliance with paediatric surgery and anaesthesia standards; shrinking workforce",
     "Paediatric surgery and anaesthesia; children's urgent care; continuity of midwifery",
     "Compliant, safe and sustainable services for mothers and children",
     "Network for paediatric surgery; continuity of carer for most women",
     "Phase 1: case for change",
     [("ae_attendances", 31000.0, 28500.0)],
     [("Paediatric surgery network options", "Dr Hannah Clarke", 15, "not_started", None),
      ("Continuity of carer teams", "Sarah Kent", 150, "in_progress", None)]),
]  # fmt: skip

PROPOSALS = [
    # title, care pathway, workstream it became (or None), status
    ("Hospital and community acquired infections / patient safety", "Patient safety", None, "deferred"),
    ("Capacity management", "Urgent care", "UEC", "accepted"),
    ("Maternity services", "Maternity and children", "MAC", "accepted"),
    ("End of life care", "End of life", "EOL", "accepted"),
    ("Planned care", "Planned care", "LBP", "accepted"),
    ("Long-term conditions (cancer, stroke and COPD)", "Long-term conditions", "STR", "accepted"),
    ("IT and clinical communication", "Enabler", None, "candidate"),
    ("Metrics and information", "Enabler", None, "candidate"),
]  # fmt: skip

ASSESSORS = ["Daniel Okafor", "Dr Fiona Lister", "Ruth Adeyemi"]

INNOVATIONS = [
    # title, stage, owner, org, workstream, cost, evidence, evaluation result, partners
    ("Orthopaedic triage service", "scaled", "Mr James Holt", "NBH", "LBP", 180_000,
     "Audit of referrals before and after triage", "Referrals to orthopaedics fell by a fifth",
     ["NBH", "NBGP"]),
    ("Community diabetes service", "scaled", "Dr Meera Shah", "NBCH", "DIA", 420_000,
     "Care process completion by practice", "Care processes up in all clusters", ["NBCH", "NBGP"]),
    ("Heart failure education for patients", "evaluated", "Anna Price", "NBCH", None, 35_000,
     "Pre/post questionnaire; admissions of participants", "Better self-care; admissions unclear",
     ["NBCH"]),
    ("Community based COPD service", "evaluated", "Dr Kwame Mensah", "NBCH", "COPD", 260_000,
     "Matched comparison of admissions", None, ["NBCH", "NBH"]),
    ("Community pain management service", "pilot", "Anna Price", "NBCH", "LBP", 90_000,
     None, None, ["NBCH", "NBH"]),
    ("Telephone care management for high-risk patients", "pilot", "Lucy Barnes", "NBICB", "FOP",
     1_500_000, "Business case: members enrolled, admissions avoided", None,
     ["NBICB", "NBGP", "NBC"]),
    ("Prior approval scheme for low-value procedures", "decommissioned", "Tom Hallam", "NBICB",
     None, 60_000, "Approval requests and outcomes", "Administrative cost exceeded savings",
     ["NBICB"]),
    ("Risk-stratified case finding in GP clusters", "idea", "Dr Alan Greaves", "NBGP", "FOP",
     None, None, None, ["NBGP", "NBICB"]),
    ("Integrated neighbourhood teams in GP clusters", "pilot", "Sarah Kent", "NBCH", "FOP",
     2_400_000, "Teams started cluster by cluster: emergency admissions of people aged 65 and "
     "over at practices whose team has started, against practices yet to start",
     None, ["NBCH", "NBGP", "NBC", "NBMH"]),
]  # fmt: skip
#: Innovations whose evidence is a programme the warehouse holds (programme_enrolment or
#: programme_rollout): the web app and the board pack link them to its evaluation.
EVALUATED = {
    "Telephone care management for high-risk patients": "telephone_care_management",
    "Integrated neighbourhood teams in GP clusters": "integrated_neighbourhood_teams",
}

CATALOGUES = [
    ("Stroke: hyperacute and acute care", "Stroke",
     [("S1", "Brain imaging within one hour of arrival for all suspected stroke"),
      ("S2", "Thrombolysis available 24/7 with door-to-needle under 60 minutes"),
      ("S3", "Direct admission to a stroke unit within four hours"),
      ("S4", "Early supported discharge available seven days a week")]),
    ("Paediatric surgery and anaesthesia", "Children's services",
     [("P1", "Consultant paediatric anaesthetist available for all under-threes"),
      ("P2", "Emergency paediatric surgery within agreed network times"),
      ("P3", "Dedicated children's recovery area")]),
]  # fmt: skip

# provider -> catalogue code prefix -> ratings in standard order
RATINGS = {
    "NBH": {"S": ["met", "met", "partly_met", "not_met"], "P": ["met", "partly_met", "met"]},
    "EGH": {"S": ["partly_met", "not_met", "partly_met", "not_met"],
            "P": ["not_met", "partly_met", "met"]},
}  # fmt: skip

RISKS = [
    # title, workstream, owner, likelihood, impact, mitigations
    ("Stroke consultant vacancies delay hyperacute options", "STR", "Helen Marsh", 4, 4,
     "Joint appointments across both hospitals; network rota"),
    ("Partners' financial positions limit non-pay funding", None, "Daniel Okafor", 3, 4,
     "Each partner commits a manager and agreed non-pay funding in the partnership agreement"),
    ("Information sharing agreement not signed by all practices", "FOP", "Dr Alan Greaves", 3, 3,
     "Federation to lead sign-up; pseudonymised data until signed"),
    ("Pulmonary rehabilitation procurement slips", "COPD", "Anna Price", 4, 2,
     "Interim capacity from the community trust"),
    ("Public concern about changes to hospital services", "UEC", "Daniel Okafor", 2, 5,
     "Early engagement through the Patient and Public Advisory Forum"),
]  # fmt: skip


def _day(today: date, offset: int) -> date:
    return today + timedelta(days=offset)


def load_demo(session: Session, today: date | None = None) -> Partnership:
    """Load the demo partnership into an empty store (ProgrammeError if not empty)."""
    today = today or date.today()
    if session.scalars(select(Partnership)).first() is not None:
        raise ProgrammeError(
            "the store already holds a partnership; load the demo into a new database"
        )
    partnership = service.create(
        session,
        Partnership,
        name="Northbrook Health and Care Partnership",
        short_name="NHCP",
        population=412_000,
        description="Commissioners, hospitals, community and mental health trusts, GP "
        "practices in clusters of 30,000-50,000 registered patients, and the council, "
        "running one joint work programme for one population.",
        reporting="Quarterly report to the Partnership Board; report to each partner's own "
        "board twice a year; decisions affecting a partner's statutory duties go back "
        "through that partner's governance.",
        established_on=_day(today, -400),
    )
    orgs = {
        code: service.create(
            session, Organisation, code=code, name=name, kind=kind,
            governing_body=body, sovereign=sovereign, is_partner=code != "HWNB",
        )
        for code, name, kind, body, sovereign in ORGANISATIONS
    }  # fmt: skip
    groups: dict[str, Group] = {}
    for name, kind, purpose, meets, reports_to in GROUPS:
        groups[name] = service.create(
            session, Group, name=name, kind=kind, purpose=purpose, meets=meets,
            reports_to_id=groups[reports_to].id if reports_to else None,
        )  # fmt: skip
    for group, name, title, role, org in MEMBERS:
        service.create(
            session, GroupMember, group_id=groups[group].id, name=name, job_title=title,
            role=role, organisation_id=orgs[org].id,
        )  # fmt: skip

    library = service.measure_catalogue()
    operational = groups["Operational Clinician / Management Group"]
    streams: dict[str, Workstream] = {}
    for (code, name, pathway, priority, exec_lead, clinical, buddy, problem, focus, outcome,
         objectives, phase, measures, milestones) in WORKSTREAMS:  # fmt: skip
        ws = service.create(
            session, Workstream, code=code, name=name, care_pathway=pathway, priority=priority,
            executive_lead=exec_lead, clinical_lead=clinical, managerial_buddy=buddy,
            problem=problem, focus=focus, desired_outcome=outcome, objectives=objectives,
            phase=phase, status="active", group_id=operational.id,
        )  # fmt: skip
        streams[code] = ws
        deliverable = service.create(
            session, Deliverable, workstream_id=ws.id, title=f"{name}: {objectives.split(';')[0]}",
            owner=buddy, due=_day(today, 180), status="in_progress",
        )  # fmt: skip
        for measure_id, baseline, target in measures:
            step = (target - baseline) / 4
            service.link_measure(
                session, code, measure_id, baseline=baseline, target=target,
                baseline_period="previous financial year", target_date=_day(today, 365),
                trajectory=[
                    {"period": f"Q{q}", "value": round(baseline + step * q, 3)} for q in range(1, 5)
                ],
                library=library,
            )  # fmt: skip
        for title, owner, due, status, forecast in milestones:
            service.create(
                session, Milestone, workstream_id=ws.id, deliverable_id=deliverable.id,
                title=title, owner=owner, due=_day(today, due), status=status,
                forecast=_day(today, forecast) if forecast is not None else None,
                completed_on=_day(today, due - 3) if status == "complete" else None,
            )  # fmt: skip
    # A board override, with its reason, on one milestone.
    blocked = session.scalars(
        select(Milestone).where(Milestone.workstream_id == streams["UEC"].id)
    ).first()
    assert blocked is not None
    service.override_rag(
        session, Milestone, blocked.id, "amber",
        "Board agreed a revised scope on the national review; unblocked next month",
    )  # fmt: skip

    criteria = service.ensure_default_criteria(session)
    rng = random.Random(2008)
    for title, pathway, ws_code, status in PROPOSALS:
        service.create(
            session, Proposal, title=title, care_pathway=pathway, status=status,
            proposed_by="Partnership Board", submitted_on=_day(today, -420),
            workstream_id=streams[ws_code].id if ws_code else None,
        )  # fmt: skip
        strength = 4 if status == "accepted" else 2
        for assessor in ASSESSORS:
            for criterion in criteria:
                score = max(0, min(5, strength + rng.choice([-1, 0, 0, 1])))
                service.record_score(
                    session, title, criterion.code, assessor, score, scored_on=_day(today, -400)
                )

    for title, stage, owner, org, ws_code, cost, evidence, result, partners in INNOVATIONS:
        innovation = service.create(
            session, Innovation, title=title, stage=stage, owner=owner,
            owner_organisation_id=orgs[org].id,
            workstream_id=streams[ws_code].id if ws_code else None,
            cost_pounds=cost, cost_basis="full year, current prices" if cost else None,
            evidence=evidence, evaluation_result=result,
            evaluated_programme=EVALUATED.get(title),
            started_on=_day(today, -700), last_reviewed=_day(today, -90),
            next_review=_day(today, 90),
        )  # fmt: skip
        for partner in partners:
            service.create(
                session, InnovationPartner, innovation_id=innovation.id,
                organisation_id=orgs[partner].id,
            )  # fmt: skip

    for name, service_name, standards in CATALOGUES:
        catalogue = service.create(
            session, StandardsCatalogue, name=name, service=service_name,
            source="Commissioner service standards agreed by the Clinical Reference Group",
            agreed_on=_day(today, -300),
        )  # fmt: skip
        for i, (code, text) in enumerate(standards):
            standard = service.create(
                session, Standard, catalogue_id=catalogue.id, code=code, text=text
            )
            for provider, ratings in RATINGS.items():
                service.create(
                    session, ProviderAssessment, standard_id=standard.id,
                    organisation_id=orgs[provider].id, rating=ratings[code[0]][i],
                    evidence="Self-assessment with audit data, confirmed at a peer review visit",
                    assessed_on=_day(today, -45), assessor="Clinical Reference Group",
                )  # fmt: skip

    for title, ws_code, owner, likelihood, impact, mitigations in RISKS:
        service.create(
            session, Risk, title=title, workstream_id=streams[ws_code].id if ws_code else None,
            owner=owner, likelihood=likelihood, impact=impact, mitigations=mitigations,
            status="open", raised_on=_day(today, -120), review_on=_day(today, 30),
        )  # fmt: skip

    board = groups["Partnership Board"]
    sign_off = service.create(
        session, Decision, meeting="Partnership Board", meeting_on=_day(today, -75),
        group_id=board.id, title="Work programme and project initiation document signed off",
        decision="The Board signed off the work programme of eight workstreams.",
        owner="Jo Whitfield", due=_day(today, -60), status="done",
    )  # fmt: skip
    del sign_off
    pooled = service.create(
        session, Decision, meeting="Partnership Board", meeting_on=_day(today, -14),
        group_id=board.id, title="Pooled budget for intermediate care",
        decision="Create a pooled budget for intermediate care and reablement from next April, "
        "subject to each partner's governance.",
        owner="Ruth Adeyemi", due=_day(today, 60), status="in_progress",
        needs_partner_governance=True, workstream_id=streams["FOP"].id,
    )  # fmt: skip
    for code, response, body, on in (
        ("NBICB", "agreed", "ICB Board", _day(today, -5)),
        ("NBC", "pending", "Cabinet", None),
        ("NBCH", "agreed_with_conditions", "Trust Board", _day(today, -2)),
    ):
        service.create(
            session, DecisionResponse, decision_id=pooled.id, organisation_id=orgs[code].id,
            response=response, body=body, responded_on=on,
        )  # fmt: skip
    service.create(
        session, Decision, meeting="Operational Clinician / Management Group",
        meeting_on=_day(today, -30), group_id=operational.id,
        title="Stroke options appraisal to include a single hyperacute unit",
        owner="Dr Priya Natarajan", due=_day(today, 20), status="open",
        workstream_id=streams["STR"].id,
    )  # fmt: skip
    service.create(
        session, Decision, meeting="Partnership Board", meeting_on=_day(today, -14),
        group_id=board.id, title="Quarterly report to the Board adopts the measure library",
        owner="Jo Whitfield", due=_day(today, 45), status="open",
    )  # fmt: skip

    commitment = service.create(
        session, Commitment, title="Our Commitment",
        text="We agree that an integrated system of health and social care is the best way to "
        "ensure good outcomes for our population; the arrangement does not affect the "
        "sovereignty of any party; any decision affecting the statutory duties of an "
        "organisation will be referred through that organisation's governing processes.",
        agreed_on=_day(today, -200), signoff_due=_day(today, -100),
    )  # fmt: skip
    for code, who, body, offset in (
        ("NBICB", "Daniel Okafor", "ICB Board", -180),
        ("NBH", "Helen Marsh", "Board of Directors", -170),
        ("NBCH", "Graham Boyd", "Trust Board", -165),
        ("NBC", "Ruth Adeyemi", "Cabinet", -150),
        ("NBGP", "Dr Alan Greaves", "Federation Board", -140),
    ):
        service.create(
            session, CommitmentSignoff, commitment_id=commitment.id,
            organisation_id=orgs[code].id, signed_by=who, body=body,
            signed_on=_day(today, offset),
        )  # fmt: skip
    return partnership
