from flask import current_app, render_template, url_for
from flask_login import current_user, login_required

from ...models import ParticipationRole, Role
from ...services import audit_words, checkins, milestones, overview, partnerships
from ...services import pairing as pairing_service
from ...services.audit import recent_activity
from ...services.libraries import participations_of
from ...tables import Column
from ...templating import local_today
from . import bp

COHORT_COLUMNS = [
    Column(
        "Cohort",
        lambda r: r.cohort.name,
        link=lambda r: url_for("cohorts.show", object_id=r.cohort.id),
    ),
    Column("Start", lambda r: r.cohort.start_date),
    Column("End", lambda r: r.cohort.end_date),
    Column("Pilots", lambda r: r.pilots, numeric=True),
    Column("Mentors", lambda r: r.mentors, numeric=True),
    Column("Sustaining", lambda r: r.sustaining, numeric=True),
]
# State officials see aggregates only: the same table without links to records.
STATE_COHORT_COLUMNS = [Column(c.label, c.value, numeric=c.numeric) for c in COHORT_COLUMNS]


@bp.get("/")
@login_required
def index():
    if current_user.role == Role.STAFF:
        return render_template(
            "home/staff.html",
            figures=overview.staff_figures(),
            cohorts=overview.cohort_rows(),
            columns=COHORT_COLUMNS,
        )
    if current_user.role == Role.STATE:
        return render_template(
            "home/state.html",
            figures=overview.state_figures(),
            cohorts=overview.cohort_rows(),
            columns=STATE_COHORT_COLUMNS,
            by_system=overview.libraries_by_system(),
        )
    library_id = current_user.library_id
    pairings = pairing_service.active_pairings_of_library(library_id)
    today = local_today()
    participations = participations_of(library_id)
    own_pilots = [p for p in participations if p.active and p.role == ParticipationRole.PILOT]
    mentees = [p.pilot for p in pairings if p.pilot.library_id != library_id]
    timelines = milestones.timelines_of(own_pilots + mentees, today)  # one query for all
    people = pairing_service.people_to_tell(pairings, also=library_id)
    return render_template(
        "home/library.html",
        library=current_user.library,
        pairings=pairings,
        next_check_ins={p.id: checkins.next_check_in(p, today) for p in pairings},
        people_by_library=people,
        timelines=overview.library_timelines(library_id, today, participations),
        pilot_timelines={p.id: timelines[p.id] for p in own_pilots},
        mentee_timelines=[timelines[p.id] for p in mentees],
        activity=audit_words.sentences(
            recent_activity(library_id), current_app.config["TIME_ZONE"]
        ),
        colleagues=sorted(
            (p for p in people[library_id] if p.id != current_user.id), key=lambda p: p.name
        ),
        partnerships=partnerships.partnerships_of(library_id),
        stage_count=len(partnerships.stages()),
        expiring=partnerships.expiring_agreements(today, [library_id]),
    )
