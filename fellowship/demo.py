"""Demo data for `make run`: accounts for each role, a programme with an open call of about 50
applications from many countries, a closed call under review (the demo reviewer has reviews to do, the
chair can rank and decide), an older call decided with offers answered, a call selected in stages (review ->
shortlist -> expert review round -> interview, weighted; candidates shortlisted, the expert round assigned and
partly reviewed, slots to book): every state appears, and two past
cohorts (2021, 2022) of alumni whose follow-ups are at every stage (alumnus@example.org is one of them).
Loading it twice changes nothing."""

from __future__ import annotations

import calendar
import io
import random
import secrets
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from fellowship.applications import answers as application_answers
from fellowship.applications.models import (
    Application,
    ApplicationStatus,
    EnvironmentalField,
    Gender,
    LanguageLevel,
    Referee,
    RefereeStatus,
    Sector,
)
from fellowship.applications.services import take_reference_number
from fellowship.auth.models import Role, User, UserRole
from fellowship.auth.passwords import hash_password
from fellowship.auth.services import create_user
from fellowship.calls.models import (
    Call,
    CallStatus,
    DegreeLevel,
    DocumentKind,
    Programme,
    RegionalQuota,
    RubricCriterion,
)
from fellowship.calls.services import developing_preset
from fellowship.eligibility.services import close_and_screen_call
from fellowship.extensions import db
from fellowship.models import utcnow

DEMO_ALUMNUS = "alumnus@example.org"  #: one of the 2021 cohort, with one follow-up survey waiting for an answer
DEMO_PASSWORD = "green-leaders-2026"  # noqa: S105 - published demo login, loaded only by seed-demo
PROGRAMME_NAME = "Environmental Leaders Fellowship"

DEMO_ACCOUNTS: list[tuple[str, str, set[Role]]] = [
    ("admin@example.org", "Ada Admin", {Role.ADMIN, Role.STAFF}),
    ("staff@example.org", "Sora Staff", {Role.STAFF}),
    ("reviewer@example.org", "Rin Reviewer", {Role.REVIEWER}),
    ("applicant@example.org", "Amani Applicant", {Role.APPLICANT}),
]

#: (country, given names, family names) for realistic demo applicants.
PEOPLE = [
    ("KE", ["Wanjiru", "Otieno", "Achieng"], ["Kamau", "Odhiambo", "Mutua"]),
    ("NG", ["Chinedu", "Aisha", "Tunde"], ["Okafor", "Bello", "Adeyemi"]),
    ("ET", ["Selam", "Dawit", "Hana"], ["Tesfaye", "Bekele", "Girma"]),
    ("GH", ["Kwame", "Ama", "Kofi"], ["Mensah", "Owusu", "Boateng"]),
    ("TZ", ["Neema", "Baraka", "Rehema"], ["Mwakyusa", "Msuya", "Kimaro"]),
    ("SN", ["Awa", "Moussa", "Fatou"], ["Diop", "Ndiaye", "Sarr"]),
    ("RW", ["Aline", "Jean", "Divine"], ["Uwase", "Habimana", "Mukamana"]),
    ("MZ", ["Lurdes", "Armando", "Celia"], ["Macamo", "Sitoe", "Cossa"]),
    ("VN", ["Thi Lan", "Minh", "Hoa"], ["Nguyen", "Tran", "Pham"]),
    ("ID", ["Siti", "Budi", "Dewi"], ["Rahayu", "Santoso", "Wijaya"]),
    ("BD", ["Nusrat", "Rahim", "Farhana"], ["Hossain", "Ahmed", "Akter"]),
    ("NP", ["Sita", "Bikash", "Anjali"], ["Sharma", "Gurung", "Thapa"]),
    ("PH", ["Maria", "Jose", "Liza"], ["Santos", "Reyes", "Cruz"]),
    ("KH", ["Sokha", "Dara", "Srey"], ["Chan", "Sok", "Kim"]),
    ("MN", ["Bolormaa", "Bat-Erdene", "Oyun"], ["Dorj", "Bold", "Ganbaatar"]),
    ("LK", ["Nadeeka", "Kasun", "Dilani"], ["Perera", "Silva", "Fernando"]),
    ("JP", ["Yui"], ["Sato"]),  # not an eligible nationality: shows the eligibility rule at work
]
FIELDS = list(EnvironmentalField)
#: A real one-page PDF: uploads are read by a PDF parser, which refuses a file without a cross-reference table.
TINY_PDF = (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<</Type/Catalog/Pages 2 0 R>>\nendobj\n"
            b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
            b"3 0 obj\n<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>\nendobj\n"
            b"xref\n0 4\n0000000000 65535 f \n0000000015 00000 n \n0000000060 00000 n \n0000000117 00000 n \n"
            b"trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n182\n%%EOF\n")
ESSAY = ("Rivers in my region are drying and the people who depend on them need leaders who understand both "
         "the science and the policy. ")


def load_demo_data() -> list[tuple[str, str, str]]:
    """Create what is missing; returns (role, email, password) for the start banner."""
    logins = []
    for email, name, roles in DEMO_ACCOUNTS:
        create_user(email, name, DEMO_PASSWORD, roles)
        logins.append((sorted(r.value for r in roles)[0], email, DEMO_PASSWORD))
    if db.session.scalar(select(Programme.id).where(Programme.name == PROGRAMME_NAME)) is None:
        _load_programme()
    return logins


def _criteria() -> list[RubricCriterion]:
    specs = [("Academic merit", "1.0"), ("Environmental leadership potential", "2.0"),
             ("Relevance to home-country needs", "1.5"), ("Feasibility of the study plan", "1.0"),
             ("Commitment to return", "1.5")]
    levels = {"1": "Weak", "2": "Fair", "3": "Good", "4": "Very good", "5": "Outstanding"}
    return [RubricCriterion(position=i, name=name, weight=Decimal(weight), level_descriptions=levels,
                            description=f"How strong is the candidate's {name.lower()}?")
            for i, (name, weight) in enumerate(specs)]


def _call(programme: Programme, title: str, year: int, opens_days: int, closes_days: int,
          status: CallStatus) -> Call:
    now = utcnow()
    call = Call(programme=programme, title=title, year=year, status=status, places=12, max_age=35,
                min_degree=DegreeLevel.BACHELOR, eligible_countries=developing_preset(),
                required_documents=["cv", "transcript", "passport"], references_required=1,
                reference_prefix="ELF", opens_at=now + timedelta(days=opens_days),
                closes_at=now + timedelta(days=closes_days),
                description=("Young environmental professionals from developing countries in Africa and Asia "
                             "study for a master's or doctoral degree in Japan, then return home to lead."))
    call.quotas = [RegionalQuota(region="Africa", min_share_percent=40),
                   RegionalQuota(region="Asia", min_share_percent=40)]
    call.criteria = _criteria()
    db.session.add(call)
    db.session.flush()
    form = application_answers.application_form(call)  # the default form, as every new call gets
    if status is not CallStatus.DRAFT:  # opened: only wording may change from now on
        application_answers.engine().lock_structure(form)
    return call


def _load_programme() -> None:
    rng = random.Random(2027)  # noqa: S311 - demo data, not security
    programme = Programme(name=PROGRAMME_NAME, description="Study environmental fields in Japan, lead at home.",
                          time_zone="Asia/Tokyo")
    db.session.add(programme)
    open_call = _call(programme, "Environmental Leaders 2027", 2027, -30, 45, CallStatus.OPEN)
    reviewing_call = _call(programme, "Environmental Leaders 2026", 2026, -400, -60, CallStatus.OPEN)
    decided_call = _call(programme, "Environmental Leaders 2025", 2025, -760, -420, CallStatus.OPEN)
    password_hash = hash_password(DEMO_PASSWORD)

    open_states = [ApplicationStatus.DRAFT] * 20 + [ApplicationStatus.SUBMITTED] * 25 + \
        [ApplicationStatus.WITHDRAWN] * 5
    person = 0
    for call, states in ((open_call, open_states), (reviewing_call, [ApplicationStatus.SUBMITTED] * 24),
                         (decided_call, [ApplicationStatus.SUBMITTED] * 16)):
        for index, status in enumerate(states):
            country, givens, families = PEOPLE[person % len(PEOPLE)]
            given, family = givens[person % len(givens)], families[(person // 3) % len(families)]
            person += 1
            user = User(email=f"{given.split()[0].lower()}.{family.lower()}.{person}@example.org",
                        full_name=f"{given} {family}", password_hash=password_hash, email_confirmed_at=utcnow())
            user.roles.append(UserRole(role=Role.APPLICANT))
            db.session.add(user)
            db.session.flush()
            complete = status is not ApplicationStatus.DRAFT or index % 3 == 0
            application = _application(call, user, country, given, family, rng, complete=complete)
            if status is not ApplicationStatus.DRAFT:
                application.reference = take_reference_number(call.reference_prefix, call.year)
                application.submitted_at = call.closes_at - timedelta(days=rng.randint(1, 20))
                application.status = status
                if status is ApplicationStatus.WITHDRAWN:
                    application.withdrawn_at = utcnow() - timedelta(days=rng.randint(1, 5))
            db.session.flush()
            if complete:
                _documents_and_referees(application, letter=rng.random() < 0.8)
    reviewers = _reviewers(password_hash)
    for call in (reviewing_call, decided_call):
        close_and_screen_call(call.id)
        call.status = CallStatus.REVIEWING
        _review(call, reviewers, rng, leave_for_demo_reviewer=call is reviewing_call)
    _decide(decided_call)
    _load_staged_call(programme, reviewers, password_hash, rng)
    demo_applicant = db.session.scalar(select(User).where(User.email == "applicant@example.org"))
    if demo_applicant is not None:
        _application(open_call, demo_applicant, "KE", "Amani", "Applicant", rng, complete=False)
    db.session.flush()
    _load_alumni(programme, password_hash)


STAGED_CALL_TITLE = "Coastal Resilience Leaders 2026"


def _load_staged_call(programme: Programme, reviewers: list[User], password_hash: str, rng: random.Random) -> None:
    """A call selected in stages: review (30%) -> shortlist of 6 by quota (confirmed, outcome sent) -> an expert
    review round of the shortlisted (20%; its panel, rubric and assignments made, a few reviews in, so staff can
    unassign and reassign) -> interview (50%) with its panel, rubric and slots; two shortlisted candidates have
    booked, the others have slots to book."""
    from fellowship.interviews import services as interviews
    from fellowship.interviews.models import InterviewMode
    from fellowship.interviews.setup import add_criterion, add_interviewer
    from fellowship.selection import review_rounds
    from fellowship.selection.models import SelectionStage, StageAssignment, StageKind
    from fellowship.selection.stages import confirm_advancing, ensure_stages, send_outcome, set_weights

    call = _call(programme, STAGED_CALL_TITLE, 2026, -300, -40, CallStatus.OPEN)
    candidates: list[tuple[Application, User]] = []
    for index in range(14):
        country, givens, families = PEOPLE[(index * 5) % (len(PEOPLE) - 1)]  # eligible nationalities only
        given, family = givens[index % len(givens)], families[(index // 2) % len(families)]
        user = User(email=f"{given.split()[0].lower()}.{family.lower()}.coast{index}@example.org",
                    full_name=f"{given} {family}", password_hash=password_hash, email_confirmed_at=utcnow())
        user.roles.append(UserRole(role=Role.APPLICANT))
        db.session.add(user)
        db.session.flush()
        application = _application(call, user, country, given, family, rng, complete=True)
        application.reference = take_reference_number(call.reference_prefix, call.year)
        application.submitted_at = call.closes_at - timedelta(days=rng.randint(1, 20))
        application.status = ApplicationStatus.SUBMITTED
        db.session.flush()
        _documents_and_referees(application, letter=True)
        candidates.append((application, user))
    # The stages were set while the call was open; the rows are written directly (the call has closed since).
    review = ensure_stages(call)[0]
    shortlist = SelectionStage(call_id=call.id, position=2, kind=StageKind.SHORTLIST, name="Shortlist",
                               advance_count=6, advance_by_quota=True)
    expert_round = SelectionStage(call_id=call.id, position=3, kind=StageKind.REVIEW, name="Expert review",
                                  weight=0, reviewers_per_application=2)
    interview = SelectionStage(call_id=call.id, position=4, kind=StageKind.INTERVIEW, name="Interview", weight=0,
                               reviewers_per_application=2)
    db.session.add_all([shortlist, expert_round, interview])
    db.session.flush()
    close_and_screen_call(call.id)
    call.status = CallStatus.REVIEWING
    _review(call, reviewers, rng, leave_for_demo_reviewer=False)
    chair = db.session.scalars(select(User).where(User.email == "staff@example.org")).one()
    set_weights(call, {review.id: 30, expert_round.id: 20, interview.id: 50}, chair)
    for reviewer in reviewers[:2]:
        add_interviewer(interview, reviewer.email, chair)
    add_criterion(interview, "Leadership in the interview", Decimal("2"), "Explains how they would lead change.", chair)
    add_criterion(interview, "Clarity of the study plan", Decimal("1"), "Answers questions on the plan precisely.",
                  chair)
    confirm_advancing(call, shortlist, chair)
    send_outcome(call, shortlist, chair)  # not-shortlisted emails; the shortlisted are invited to book a slot
    # The expert round: the three reviewers, its own rubric, the shortlisted assigned two each; the harsh reviewer
    # has submitted two, the rest wait (the demo reviewer has some at /review/rounds).
    for reviewer in reviewers:
        review_rounds.add_member(expert_round, reviewer.email, chair)
    depth = review_rounds.add_criterion(expert_round, "Depth of the coastal adaptation plan", Decimal("2"),
                                        "Grounded in the home region's hazards and data.", chair)
    feasibility = review_rounds.add_criterion(expert_round, "Feasibility at home", Decimal("1"),
                                              "Can be carried out with the partners named.", chair)
    review_rounds.auto_assign(call, expert_round, chair)
    harsh_assignments = db.session.scalars(select(StageAssignment).where(
        StageAssignment.stage_id == expert_round.id, StageAssignment.reviewer_id == reviewers[1].id)
        .order_by(StageAssignment.id).limit(2)).all()
    for assignment in harsh_assignments:
        review_rounds.save_review(assignment, {depth.id: 3, feasibility.id: 2},
                                  "Sound plan; the partners need to be confirmed.", submit=True)
    local_now = datetime.now(UTC).astimezone(ZoneInfo(call.time_zone)).replace(tzinfo=None, second=0, microsecond=0)
    slots = []
    for day, hour in ((7, 9), (7, 11), (8, 16), (9, 10)):
        start = (local_now + timedelta(days=day)).replace(hour=hour, minute=0)
        slots.append(interviews.create_slot(call, interview, interviews.SlotSettings(
            starts_local=start, duration_minutes=45, capacity=2, mode=InterviewMode.VIDEO,
            location="https://meet.example.org/elf-coast", panel_ids=tuple(r.id for r in reviewers[:2])), chair))
    booked = 0
    for application, user in candidates:
        if booked < 2 and interviews.is_shortlisted(interview, application.id):
            interviews.book(interview, application, slots[booked].id, user)
            booked += 1


def _application(call: Call, user: User, country: str, given: str, family: str, rng: random.Random, *,
                 complete: bool) -> Application:
    """An application whose answers are given through the call's form (the questionnaire engine), section by
    section as an applicant saves them; the profile columns follow from the tagged answers."""
    application = Application(call=call, applicant_id=user.id)
    db.session.add(application)
    db.session.flush()
    values: dict[str, object] = {
        "given_name": given, "family_name": family, "nationality": country, "country_of_residence": country,
        "gender": rng.choice(list(Gender)).value,
        "date_of_birth": date(rng.randint(1993, 2002), rng.randint(1, 12), rng.randint(1, 28)),
    }
    if complete:
        degrees = [DegreeLevel.BACHELOR, DegreeLevel.MASTER] * 4 + [DegreeLevel.SECONDARY]
        values.update({
            "highest_degree": rng.choice(degrees).value, "degree_subject": "Environmental science",
            "institution": "National University", "graduation_year": rng.randint(2012, 2023),
            "current_position": "Programme officer", "employer": "Ministry of Environment",
            "sector": rng.choice(list(Sector)).value, "years_experience": rng.randint(1, 10),
            "environmental_field": rng.choice(FIELDS).value, "field_description": ESSAY * 3,
            "study_plan": ESSAY * 10, "leadership_plan": ESSAY * 10, "motivation": ESSAY * 12,
            "english_level": LanguageLevel.B2.value, "japanese_level": LanguageLevel.A1.value,
        })
    form = application_answers.form_of(application)
    for section in form.sections:
        given_here = {q.key: values[q.key] for q in section.questions if q.key in values}
        if given_here:
            application_answers.save_answers(application, section, given_here)
    return application


def _documents_and_referees(application: Application, *, letter: bool) -> None:
    from fellowship.documents.services import save_validated
    from fellowship.documents.validation import validate_upload

    for kind in (DocumentKind.CV, DocumentKind.TRANSCRIPT, DocumentKind.PASSPORT):
        upload = FileStorage(io.BytesIO(TINY_PDF), filename=f"{kind.value}.pdf", content_type="application/pdf")
        save_validated(application, kind, validate_upload(upload, kind))
    referee = Referee(application_id=application.id, name="Dr. Grace Mbeki", relation="Former supervisor",
                      email=f"referee.{application.id}@example.org", invited_at=utcnow() - timedelta(days=20),
                      status=RefereeStatus.RECEIVED if letter else RefereeStatus.INVITED,
                      received_at=utcnow() - timedelta(days=5) if letter else None)
    db.session.add(referee)
    db.session.flush()
    if letter:
        upload = FileStorage(io.BytesIO(TINY_PDF), filename="letter.pdf", content_type="application/pdf")
        save_validated(application, DocumentKind.REFERENCE_LETTER,
                       validate_upload(upload, DocumentKind.REFERENCE_LETTER), referee=referee)


def _reviewers(password_hash: str) -> list[User]:
    """The demo reviewer and two colleagues: one who scores harshly, one leniently."""
    reviewers = [db.session.scalars(select(User).where(User.email == "reviewer@example.org")).one()]
    colleagues = (("harsh.reviewer@example.org", "Hiroshi Harsh"), ("lenient.reviewer@example.org", "Lena Lenient"))
    for email, name in colleagues:
        user = User(email=email, full_name=name, password_hash=password_hash, email_confirmed_at=utcnow())
        user.roles.append(UserRole(role=Role.REVIEWER))
        db.session.add(user)
        reviewers.append(user)
    db.session.flush()
    return reviewers


def _review(call: Call, reviewers: list[User], rng: random.Random, *, leave_for_demo_reviewer: bool) -> None:
    """Panel, automatic assignment and reviews through the real services; some left for the demo reviewer."""
    from fellowship.selection.assignment import add_to_panel, auto_assign
    from fellowship.selection.models import Assignment, Recommendation
    from fellowship.selection.reviewing import save_review

    call.reviewers_per_application = 2
    call.review_due_at = utcnow() + timedelta(days=14)
    for reviewer in reviewers:
        add_to_panel(call, reviewer, cap=None, institution=None, nationality=None)
    auto_assign(call)
    bias = {reviewers[0].id: 0, reviewers[1].id: -1, reviewers[2].id: 1}
    assignments = db.session.scalars(select(Assignment).where(Assignment.call_id == call.id)
                                     .order_by(Assignment.id)).all()
    for assignment in assignments:
        if leave_for_demo_reviewer and assignment.reviewer_id == reviewers[0].id:
            continue
        merit = 2 + assignment.application_id % 3  # the same applicant looks alike to every reviewer
        scores = {c.id: max(1, min(5, merit + bias[assignment.reviewer_id] + rng.choice((0, 0, 1))))
                  for c in call.criteria}
        recommendation = Recommendation.SUPPORT if sum(scores.values()) / len(scores) >= 3 else Recommendation.NEUTRAL
        save_review(assignment, scores, "Clear plan; strong links to home-country needs.", recommendation, submit=True)


def _decide(call: Call) -> None:
    """Lock, decide from the proposal, send, and have the first offers answered: every state appears."""
    from fellowship.selection.decisions import record_from_proposal, respond_to_offer, send_decisions
    from fellowship.selection.reviewing import lock_panel

    chair = db.session.scalars(select(User).where(User.email == "staff@example.org")).one()
    call.places = 4
    lock_panel(call, chair)
    record_from_proposal(call, chair, waitlist_size=3)
    send_decisions(call, chair)
    accepted = db.session.scalars(select(Application).where(Application.call_id == call.id,
                                                            Application.status == ApplicationStatus.ACCEPTED)
                                  .order_by(Application.id)).all()
    respond_to_offer(accepted[0], accept=True)
    respond_to_offer(accepted[1], accept=False)  # promotes the first on the waitlist
    call.status = CallStatus.DECIDED


#: Days since the latest due follow-up of each demo alumnus (by position in the cohort), and what became of it:
#: a spread over the daily job's cadence (reminders at +7/+21, overdue at +35, lapsed at +90 days).
ALUMNI_STAGES: list[tuple[int, str]] = [
    (3, "sent"), (12, "reminded"), (26, "reminded"), (50, "overdue"), (130, "lapsed"), (40, "completed"),
    (75, "completed"), (160, "completed"), (2, "sent"), (200, "silent"),
]
#: Countries of residence some alumni answered from outside their home region (the return rate is not 100%).
ABROAD = {5: "JP", 7: "GB"}
CAREERS = [("Water resources officer", "Ministry of Water", Sector.GOVERNMENT, True, "staff"),
           ("Programme manager", "Green Futures NGO", Sector.NGO, True, "manager"),
           ("Lecturer in environmental science", "National University", Sector.ACADEMIA, True, "staff"),
           ("Director of climate policy", "Ministry of Environment", Sector.GOVERNMENT, True, "senior_leader"),
           ("Energy analyst", "Solar Power Ltd", Sector.PRIVATE, True, "team_lead"),
           ("Finance officer", "Commercial Bank", Sector.PRIVATE, False, "staff")]


def _load_alumni(programme: Programme, password_hash: str) -> None:
    """Two past cohorts of ten alumni each, returned home at dates chosen so their follow-ups show every stage.

    Fellows and their follow-up schedule come from the real services (create_fellow, record_return, which calls
    schedule_follow_ups); the follow-ups' progress, answers and careers are then written directly: it is demo data,
    as if the daily job and the alumni had done it.
    """
    from fellowship.alumni.followups import follow_up_link, period_label
    from fellowship.alumni.models import CareerEntry, FollowUp, FollowUpResponse, FollowUpStatus, LeadershipLevel
    from fellowship.fellows.models import FellowStatus
    from fellowship.fellows.services import create_fellow, record_return
    from fellowship.notifications.services import queue_email

    today = utcnow().date()
    rng = random.Random(2021)  # noqa: S311 - demo data, not security
    person = 0
    for year, status, latest_months in ((2021, CallStatus.ARCHIVED, 36), (2022, CallStatus.DECIDED, 24)):
        days_ago = (today - date(year - 1, 12, 1)).days
        call = _call(programme, f"Environmental Leaders {year}", year, -days_ago - 120, -days_ago, status)
        call.places = len(ALUMNI_STAGES)
        for index, (age, stage) in enumerate(ALUMNI_STAGES):
            country, givens, families = PEOPLE[(person + 5) % (len(PEOPLE) - 1)]  # not JP: not eligible
            given, family = givens[person % len(givens)], families[(person // 2) % len(families)]
            person += 1
            email = (DEMO_ALUMNUS if person == 1
                     else f"{given.split()[0].lower()}.{family.lower()}.alumni{person}@example.org")
            user = User(email=email, full_name=f"{given} {family}", password_hash=password_hash,
                        email_confirmed_at=utcnow())
            user.roles.append(UserRole(role=Role.APPLICANT))
            db.session.add(user)
            db.session.flush()
            application = _application(call, user, country, given, family, rng, complete=True)
            application.reference = take_reference_number(call.reference_prefix, call.year)
            application.submitted_at = call.closes_at - timedelta(days=rng.randint(1, 20))
            application.status = ApplicationStatus.OFFER_ACCEPTED
            db.session.flush()
            # The latest due follow-up (at `latest_months`) fell due `age` days ago.
            latest_due = today - timedelta(days=age)
            returned = _months_before(latest_due, latest_months)
            fellow = create_fellow(application)
            fellow.status, fellow.arrival_date = FellowStatus.IN_JAPAN, returned - timedelta(days=730)
            fellow.planned_return_date = returned
            fellow.host_institution, fellow.supervisor = "Kyoto University", "Prof. Tanaka"
            fellow.study_programme = "Master of Environmental Management"
            fellow.directory_opt_in = index % 3 != 2
            db.session.flush()
            record_return(fellow, returned, None, today=today)
            follow_ups = db.session.scalars(select(FollowUp).where(FollowUp.fellow_id == fellow.id)
                                            .order_by(FollowUp.months_after_return)).all()
            due = [f for f in follow_ups if f.due_on <= today]  # later ones stay scheduled
            career_from: FollowUp | None = None
            for follow_up in due:
                sent = datetime.combine(follow_up.due_on, datetime.min.time(), tzinfo=UTC)
                follow_up.sent_at = sent
                is_latest = follow_up is due[-1]
                outcome = stage if is_latest else ("lapsed" if stage == "silent" else "completed")
                if outcome == "silent":
                    outcome = "lapsed"
                if outcome in ("reminded", "overdue", "lapsed"):
                    follow_up.reminders_sent = 2 if age >= 21 or not is_latest else 1
                    follow_up.last_reminded_at = sent + timedelta(days=21 if follow_up.reminders_sent == 2 else 7)
                if outcome in ("overdue", "lapsed"):
                    follow_up.overdue_at = sent + timedelta(days=35)
                if outcome == "lapsed":
                    follow_up.lapsed_at = sent + timedelta(days=90)
                    if is_latest:
                        fellow.lost_contact_since = follow_up.lapsed_at
                if outcome == "completed":
                    follow_up.completed_at = sent + timedelta(days=rng.randint(1, 20))
                    follow_up.link_nonce = None
                    residence = ABROAD.get(index, country) if is_latest else country
                    db.session.add(FollowUpResponse(
                        follow_up_id=follow_up.id, fellow_id=fellow.id, country_of_residence=residence,
                        country_of_work=residence, projects_led=rng.randint(0, 4),
                        policies_contributed=rng.randint(0, 2), publications=rng.randint(0, 5),
                        people_trained=rng.randint(0, 200), collaboration_with_japan=rng.random() < 0.6,
                        achievements_text="Led a community river clean-up and trained local officers.",
                        directory_consent=fellow.directory_opt_in, submitted_at=follow_up.completed_at))
                    career_from = follow_up
                follow_up.status = FollowUpStatus(outcome)
                if outcome in ("sent", "reminded", "overdue"):  # its emailed link works, as the daily job made it
                    follow_up.link_nonce = secrets.token_urlsafe(16)
                    if email == DEMO_ALUMNUS and is_latest:  # the survey waiting for the demo alumnus, in /dev/mail
                        db.session.flush()
                        queue_email(email, "alumni/followup_invitation", dedupe_key=f"followup:{follow_up.id}:sent",
                                    name=user.full_name, period=period_label(follow_up.months_after_return),
                                    survey_url=follow_up_link(follow_up.id, follow_up.link_nonce))
            if career_from is not None:
                position, organisation, sector, environmental, level = CAREERS[index % len(CAREERS)]
                residence = ABROAD.get(index, country) if career_from is due[-1] else country
                if index % 2 == 0:  # an earlier position, ended: the timeline shows a career
                    db.session.add(CareerEntry(
                        fellow_id=fellow.id, position="Assistant researcher", organisation="National Institute",
                        sector=Sector.ACADEMIA, country=country, start_date=returned + timedelta(days=30),
                        end_date=career_from.due_on - timedelta(days=60), environmental=True,
                        leadership_level=LeadershipLevel.STAFF))
                db.session.add(CareerEntry(
                    fellow_id=fellow.id, position=position, organisation=organisation, sector=sector,
                    country=residence, start_date=career_from.due_on - timedelta(days=59),
                    environmental=environmental, leadership_level=LeadershipLevel(level),
                    follow_up_id=career_from.id))
            db.session.flush()


def _months_before(day: date, months: int) -> date:
    """`day` minus whole months (day of month clamped), the inverse of the follow-up schedule's add_months."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
