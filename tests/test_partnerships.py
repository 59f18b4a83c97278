"""School-district partnerships, agreements and commitment letters: rules and pages."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from mentorship.extensions import db
from mentorship.models import (
    Agreement,
    AgreementKind,
    AuditEvent,
    LetterSigner,
    Partnership,
    PartnershipStage,
    SignerRole,
)
from mentorship.services import partnerships as service
from mentorship.services.errors import Conflict, ValidationError
from mentorship.templating import local_today
from tests.conftest import row_count
from tests.helpers import (
    PASSWORD,
    make_cohort,
    make_district,
    make_library,
    make_pairing,
    make_participation,
    make_partnership,
    make_user,
)

TODAY = date(2026, 11, 25)


def _stage(key: str) -> PartnershipStage:
    return db.session.scalar(sa.select(PartnershipStage).where(PartnershipStage.key == key))


_partnership = make_partnership


# Stages ----------------------------------------------------------------------------


def test_the_stages_are_rows_in_the_program_order(ctx):
    assert [stage.key for stage in service.stages()] == [
        "contacted",
        "meeting_held",
        "letter_signed",
        "agreement_signed",
        "data_shared",
        "cards_issued",
        "renewal_due",
    ]


def test_a_new_partnership_starts_contacted_on_the_day_given(ctx):
    partnership = _partnership(contacted_on=date(2026, 2, 3))
    assert partnership.stage.key == "contacted"
    assert partnership.reached_on(partnership.stage) == date(2026, 2, 3)
    assert db.session.scalar(
        sa.select(AuditEvent.action).where(AuditEvent.object_type == "Partnership")
    ) == ("create")


def test_a_library_partners_with_a_district_once_but_may_have_several(ctx):
    library = make_library()
    district = make_district()
    _partnership(library, district)
    _partnership(library, make_district())
    with pytest.raises(Conflict):
        _partnership(library, district)
    db.session.rollback()
    assert len(service.partnerships_of(library.id)) == 2


def test_moving_forward_records_the_date_of_each_stage(ctx):
    partnership = _partnership()
    service.move_to_stage(partnership, _stage("meeting_held"), date(2026, 3, 1), TODAY, None)
    service.move_to_stage(partnership, _stage("letter_signed"), date(2026, 5, 1), TODAY, None)
    db.session.commit()
    assert partnership.stage.key == "letter_signed"
    assert partnership.reached_on(_stage("meeting_held")) == date(2026, 3, 1)
    assert partnership.reached_on(_stage("letter_signed")) == date(2026, 5, 1)
    moves = db.session.scalars(
        sa.select(AuditEvent.changes).where(AuditEvent.action == "stage").order_by(AuditEvent.id)
    ).all()
    assert [m["stage"] for m in moves] == [
        ["Contacted", "Meeting held"],
        ["Meeting held", "Commitment letter signed"],
    ]


def test_a_stage_cannot_be_reached_before_an_earlier_one_or_in_the_future(ctx):
    partnership = _partnership(contacted_on=date(2026, 4, 1))
    with pytest.raises(ValidationError, match="Contacted” was reached on Apr 1, 2026"):
        service.move_to_stage(partnership, _stage("meeting_held"), date(2026, 3, 1), TODAY, None)
    with pytest.raises(ValidationError, match="future"):
        service.move_to_stage(
            partnership, _stage("meeting_held"), TODAY + timedelta(days=1), TODAY, None
        )


def test_going_back_corrects_a_mistake_and_forgets_the_later_dates(ctx):
    partnership = _partnership()
    service.move_to_stage(partnership, _stage("data_shared"), date(2026, 6, 1), TODAY, None)
    service.move_to_stage(partnership, _stage("meeting_held"), date(2026, 2, 1), TODAY, None)
    db.session.commit()
    assert partnership.stage.key == "meeting_held"
    assert partnership.reached_on(_stage("data_shared")) is None
    assert {d.stage.key for d in partnership.stage_dates} == {"contacted", "meeting_held"}


# The commitment letter ------------------------------------------------------------


def _signer(role, name, signed_on=date(2026, 3, 3), partnership=None):
    return {
        "role": role,
        "name": name,
        "title": "",
        "signed_on": signed_on,
        "partnership_id": partnership.id if partnership else None,
    }


def test_the_letter_is_signed_only_when_every_leader_and_every_districts_superintendent_signed(
    ctx,
):
    library = make_library()
    pilot = make_participation(library, make_cohort())
    letter = service.letter_for(pilot)
    everyone = [
        "the chief elected official",
        "the library director",
        "a partner district (and its superintendent)",
    ]
    assert not letter.is_signed and letter.waiting_for == everyone
    service.add_signer(letter, _signer(SignerRole.LIBRARY_DIRECTOR, "A"), TODAY, None)
    service.add_signer(
        letter, _signer(SignerRole.CHIEF_ELECTED_OFFICIAL, "B", date(2026, 4, 1)), TODAY, None
    )
    # Signed by both leaders but with no partner district: not signed.
    assert letter.waiting_for == ["a partner district (and its superintendent)"]
    hayward = _partnership(library, make_district("Hayward Unified"))
    db.session.expire(letter)
    assert letter.waiting_for == ["the superintendent of Hayward Unified"]
    service.add_signer(
        letter, _signer(SignerRole.SUPERINTENDENT, "C", partnership=hayward), TODAY, None
    )
    assert letter.is_signed and letter.signed_on == date(2026, 4, 1)
    # A second district: the letter waits for its superintendent.
    san_lorenzo = _partnership(library, make_district("San Lorenzo Unified"))
    db.session.expire(letter)
    assert not letter.is_signed and letter.signed_on is None
    assert letter.waiting_for == ["the superintendent of San Lorenzo Unified"]
    second = service.add_signer(
        letter, _signer(SignerRole.SUPERINTENDENT, "D", None, san_lorenzo), TODAY, None
    )
    assert letter.waiting_for == ["the superintendent of San Lorenzo Unified"]  # not yet signed
    service.update_signer(second, {"signed_on": date(2026, 5, 2)}, TODAY, None)
    db.session.commit()
    assert letter.is_signed and letter.signed_on == date(2026, 5, 2)
    # A district no longer active no longer holds the letter up.
    service.update_signer(second, {"signed_on": None}, TODAY, None)
    service.set_partnership_active(san_lorenzo, False, TODAY, None)
    db.session.commit()
    db.session.expire(letter)
    assert letter.is_signed and letter.signed_on == date(2026, 4, 1)
    signed_events = sa.select(AuditEvent.changes).where(AuditEvent.action == "letter signed")
    assert [e["signed_on"][1] for e in db.session.scalars(signed_events)] == [
        "2026-04-01",
        "2026-05-02",
    ]


def test_a_superintendent_signs_for_one_of_the_librarys_partner_districts(ctx):
    library = make_library()
    letter = service.letter_for(make_participation(library, make_cohort()))
    with pytest.raises(ValidationError, match="Add the school district as a partner first") as no:
        service.add_signer(letter, _signer(SignerRole.SUPERINTENDENT, "C"), TODAY, None)
    assert no.value.field == "partnership_id"
    elsewhere = _partnership(make_library(), make_district())
    _partnership(library, make_district())
    with pytest.raises(ValidationError, match="Choose the partner district"):
        service.add_signer(
            letter, _signer(SignerRole.SUPERINTENDENT, "C", partnership=elsewhere), TODAY, None
        )
    # The other leaders sign for the library: a district given for them is not kept.
    mayor = service.add_signer(
        letter, _signer(SignerRole.CHIEF_ELECTED_OFFICIAL, "B", partnership=elsewhere), TODAY, None
    )
    assert mayor.partnership_id is None
    assert row_count(LetterSigner) == 1


def test_the_database_refuses_a_superintendent_without_a_district(ctx):
    letter = service.letter_for(make_participation(make_library(), make_cohort()))
    db.session.commit()
    db.session.add(LetterSigner(letter_id=letter.id, role=SignerRole.SUPERINTENDENT, name="X"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_signature_cannot_be_dated_in_the_future(ctx):
    letter = service.letter_for(make_participation(make_library(), make_cohort()))
    with pytest.raises(ValidationError, match="future"):
        service.add_signer(
            letter,
            _signer(SignerRole.LIBRARY_DIRECTOR, "A", TODAY + timedelta(days=1)),
            TODAY,
            None,
        )


# Agreements -----------------------------------------------------------------------


def _agreement(partnership, expires_on, kind=AgreementKind.MOU, effective_on=date(2024, 7, 1)):
    agreement = service.add_agreement(
        partnership,
        {"kind": kind, "effective_on": effective_on, "expires_on": expires_on},
        actor=None,
    )
    db.session.commit()
    return agreement


def test_an_agreement_expires_after_it_takes_effect(ctx):
    with pytest.raises(ValidationError, match="after the effective date"):
        service.add_agreement(
            _partnership(),
            {"kind": AgreementKind.MOU, "effective_on": TODAY, "expires_on": TODAY},
            actor=None,
        )


def test_the_expiring_list_holds_what_runs_out_within_90_days_and_is_not_renewed(ctx):
    first, second = _partnership(), _partnership()
    soon = _agreement(first, TODAY + timedelta(days=90))
    _agreement(first, TODAY + timedelta(days=91), AgreementKind.DATA_SHARING)  # not yet
    lapsed = _agreement(second, TODAY - timedelta(days=3))
    renewed = _agreement(second, TODAY + timedelta(days=10), AgreementKind.DATA_SHARING)
    _agreement(second, TODAY + timedelta(days=700), AgreementKind.DATA_SHARING, TODAY)
    _agreement(first, None, AgreementKind.DATA_SHARING)  # never expires

    rows = service.expiring_agreements(TODAY)
    assert [(row.agreement.id, row.days_left) for row in rows] == [(lapsed.id, -3), (soon.id, 90)]
    assert rows[0].expired and not rows[1].expired
    assert renewed.id not in {row.agreement.id for row in rows}
    # A library sees only its own.
    assert [row.agreement.id for row in service.expiring_agreements(TODAY, [first.library_id])] == [
        soon.id
    ]
    # An ended partnership's agreements are no longer anyone's worry.
    first.active = False
    db.session.commit()
    assert [row.agreement.id for row in service.expiring_agreements(TODAY)] == [lapsed.id]


# Pages ----------------------------------------------------------------------------


def _two_libraries(app):
    """Hayward (pilot, paired with Berkeley) and Yolo (another pilot), each with a partner."""
    with app.app_context():
        cohort = make_cohort("Year 1")
        hayward = make_library("Hayward Public Library")
        berkeley = make_library("Berkeley Public Library")
        yolo = make_library("Yolo County Library", county="Yolo")
        pilot = make_participation(hayward, cohort, "pilot")
        mentor = make_participation(berkeley, cohort, "mentor")
        yolo_pilot = make_participation(yolo, cohort, "pilot")
        make_pairing(pilot, mentor=mentor)
        hayward_partner = _partnership(hayward, make_district("Hayward Unified"))
        db.session.execute(
            sa.update(Partnership)
            .where(Partnership.id == hayward_partner.id)
            .values(contact_email="ana@husd.example")
        )
        yolo_partner = _partnership(yolo, make_district("Davis Joint Unified", county="Yolo"))
        make_district("San Lorenzo Unified")
        _agreement(hayward_partner, local_today() + timedelta(days=30))
        make_user("staff", email="staff@t.example")
        make_user("state", email="state@t.example")
        make_user("pilot", hayward, email="priya@hayward.example")
        make_user("mentor", berkeley, email="grace@berkeley.example")
        make_user("mentor", make_library(), email="other-mentor@t.example")
        make_user("pilot", yolo, email="luis@yolo.example")
        return {
            "hayward": hayward.id,
            "yolo": yolo.id,
            "hayward_partner": hayward_partner.id,
            "yolo_partner": yolo_partner.id,
            "pilot": pilot.id,
            "yolo_pilot": yolo_pilot.id,
        }


def test_a_pilot_adds_a_district_moves_its_stage_and_records_an_agreement(client, app):
    ids = _two_libraries(app)
    client.login("priya@hayward.example", PASSWORD)
    page = client.get(f"/libraries/{ids['hayward']}/partners/new").get_data(as_text=True)
    assert "San Lorenzo Unified" in page and "Hayward Unified (Alameda)" not in page  # taken
    with app.app_context():
        district_id = db.session.scalar(
            sa.text("SELECT id FROM school_districts WHERE name = 'San Lorenzo Unified'")
        )

    # Bad input: nothing stored, the message next to the field, what was typed kept.
    bad = client.submit(
        f"/libraries/{ids['hayward']}/partners/new",
        {
            "district_id": district_id,
            "rollout_order": "0",
            "contact_name": "Ana Ruiz",
            "contacted_on": "",
        },
    )
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "Enter a number from 1 to 999" in text
    assert "Enter the date of the first contact" in text and 'value="Ana Ruiz"' in text
    with app.app_context():
        assert row_count(Partnership) == 2

    added = client.submit(
        f"/libraries/{ids['hayward']}/partners/new",
        {
            "district_id": district_id,
            "rollout_order": "2",
            "contacted_on": "2026-02-01",
            "card_model": "digital only",
            "enrolment": "opt-out",
            "fine_free": "yes",
        },
    )
    assert added.status_code == 302
    with app.app_context():
        partnership = db.session.scalar(
            sa.select(Partnership).where(Partnership.district_id == district_id)
        )
        assert (partnership.card_model, partnership.enrolment, partnership.fine_free) == (
            "digital only",
            "opt-out",
            True,
        )
        meeting = _stage("meeting_held").id
        partnership_id = partnership.id

    moved = client.submit(
        f"/partnerships/{partnership_id}/stage", {"stage_id": meeting, "reached_on": "2026-03-04"}
    )
    assert moved.status_code == 302
    page = client.get(f"/partnerships/{partnership_id}").get_data(as_text=True)
    assert 'aria-current="step"' in page and "Mar 4, 2026" in page

    early = client.submit(
        f"/partnerships/{partnership_id}/stage", {"stage_id": meeting, "reached_on": "2026-01-04"}
    )
    assert early.status_code == 400 and "cannot come before it" in early.get_data(as_text=True)

    agreement = client.submit(
        f"/partnerships/{partnership_id}/agreements/new",
        {"kind": "MOU", "effective_on": "2026-06-01", "expires_on": "2026-05-01"},
    )
    assert "must come after the effective date" in agreement.get_data(as_text=True)
    with app.app_context():
        assert row_count(Agreement) == 1  # only the one made for the test


def test_the_library_and_staff_see_agreements_about_to_expire(client, app):
    ids = _two_libraries(app)
    client.login("priya@hayward.example", PASSWORD)
    page = client.get(f"/libraries/{ids['hayward']}/partners").get_data(as_text=True)
    assert "Agreements to renew" in page and "MOU with Hayward Unified" in page
    assert client.get("/agreements/expiring").status_code == 403
    client.submit("/logout")

    client.login("staff@t.example", PASSWORD)
    page = client.get("/agreements/expiring").get_data(as_text=True)
    assert "Hayward Public Library" in page and re.search(r">\s*30\s*</td>", page)
    csv = client.get("/agreements/expiring?format=csv").get_data(as_text=True).splitlines()
    assert csv[0] == "\ufeffLibrary,School district,Agreement,Expires,Days left,Figures as of"
    with app.app_context():
        expires = local_today() + timedelta(days=30)
    assert csv[1].startswith("Hayward Public Library,Hayward Unified,MOU,")
    assert f",{expires.isoformat()},30," in csv[1]


def test_a_pilot_fills_in_the_commitment_letter(client, app):
    ids = _two_libraries(app)
    client.login("priya@hayward.example", PASSWORD)
    url = f"/participations/{ids['pilot']}/letter"
    assert "not started" in client.get(url).get_data(as_text=True)
    for role, name in (
        ("library director", "Sean Reinhart"),
        ("chief elected official", "Mark Salinas"),
    ):
        client.submit(f"{url}/signers", {"role": role, "name": name, "signed_on": "2026-03-02"})
    page = client.get(url).get_data(as_text=True)
    assert "waiting for: the superintendent of Hayward Unified" in page
    assert re.search(r'<option value="\d+">Hayward Unified</option>', page)
    missing_name = client.submit(f"{url}/signers", {"role": "superintendent", "name": ""})
    assert missing_name.status_code == 400
    assert "Enter the signer" in missing_name.get_data(as_text=True)
    no_district = client.submit(f"{url}/signers", {"role": "superintendent", "name": "J"})
    assert no_district.status_code == 400
    assert "Choose the partner district" in no_district.get_data(as_text=True)
    client.submit(
        f"{url}/signers",
        {
            "role": "superintendent",
            "name": "Jason Reimann",
            "signed_on": "2026-03-09",
            "partnership_id": ids["hayward_partner"],
        },
    )
    assert "signed Mar 9, 2026" in client.get(url).get_data(as_text=True)
    partners = client.get(f"/libraries/{ids['hayward']}/partners").get_data(as_text=True)
    assert "signed Mar 9, 2026" in partners


@pytest.mark.parametrize(
    ("email", "own", "paired", "other", "expiring"),
    [
        # who: their own library's pages, the paired library's, another library's
        ("priya@hayward.example", 200, None, 404, 403),
        ("grace@berkeley.example", None, 200, 404, 403),
        ("other-mentor@t.example", None, None, 404, 403),
        ("luis@yolo.example", 200, None, 404, 403),
        ("state@t.example", None, None, 403, 403),
        ("staff@t.example", 200, None, 200, 200),
    ],
)
def test_who_sees_which_partnerships_and_letters(client, app, email, own, paired, other, expiring):
    ids = _two_libraries(app)
    mine, theirs = (
        (ids["yolo_partner"], ids["hayward_partner"])
        if email.startswith("luis")
        else (ids["hayward_partner"], ids["yolo_partner"])
    )
    client.login(email, PASSWORD)
    if own:
        assert client.get(f"/partnerships/{mine}").status_code == own
    if paired:  # the mentor reads the mentee's partnerships and letter, changes nothing
        assert client.get(f"/partnerships/{ids['hayward_partner']}").status_code == 200
        assert client.get(f"/participations/{ids['pilot']}/letter").status_code == 200
        assert client.get(f"/partnerships/{ids['hayward_partner']}/edit").status_code == 404
        assert client.submit(f"/participations/{ids['pilot']}/letter/signers").status_code == 404
        assert client.get(f"/libraries/{ids['hayward']}/partners/new").status_code == 404
    assert client.get(f"/partnerships/{theirs}").status_code == other
    theirs_pilot = ids["pilot"] if email.startswith("luis") else ids["yolo_pilot"]
    assert client.get(f"/participations/{theirs_pilot}/letter").status_code == other
    assert client.get("/agreements/expiring").status_code == expiring


def test_state_officials_see_no_district_contact_details(client, app):
    ids = _two_libraries(app)
    client.login("state@t.example", PASSWORD)
    for url in (
        "/",
        f"/libraries/{ids['hayward']}/partners",
        f"/partnerships/{ids['hayward_partner']}",
    ):
        assert "ana@husd.example" not in client.get(url).get_data(as_text=True)
    client.submit("/logout")
    client.login("staff@t.example", PASSWORD)
    page = client.get(f"/partnerships/{ids['hayward_partner']}").get_data(as_text=True)
    assert "ana@husd.example" in page  # the check above could fail
