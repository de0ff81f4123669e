"""The audit log: what the flush listener and the bulk call sites record, and who may read it."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from flask_login import login_user
from sqlalchemy import func, select

from inclusive_day import create_app
from inclusive_day.activities.models import Activity
from inclusive_day.attendance.identity import identity_for
from inclusive_day.attendance.models import BeneficiaryGroup, CheckIn, CheckInSource
from inclusive_day.attendance.services import annul_checkin, apply_tally, record_checkin
from inclusive_day.audit.models import AuditEvent
from inclusive_day.audit.specs import common_path
from inclusive_day.audit.views import rows_of
from inclusive_day.auth.models import Role, RoleGrant
from inclusive_day.auth.services import grant
from inclusive_day.config import TestConfig
from inclusive_day.construction.models import ConstructionTarget, CoverageGoal
from inclusive_day.database import utcnow
from inclusive_day.funds.models import FundKind, FundLine
from inclusive_day.sponsors.models import DonationKind
from inclusive_day.sponsors.services import (
    DonationFields,
    distribute,
    pledge_donation,
    receive_donation,
)
from inclusive_day.stations.models import (
    HostType,
    Label,
    LabelAward,
    Partner,
    StationPartner,
    StationStatus,
)
from inclusive_day.units.models import Level

UID = "7d0c6a8e-5b1f-4c3a-9e2d-1f2a3b4c5d6e@inclusive-day"


@pytest.fixture
def tree(db, make_unit, make_station, make_campaign):
    """A city with two districts (A and B), a station in each, and the city's campaign."""
    city = make_unit("Kunming", level=Level.CITY)
    a = make_unit("Guandu", parent=city)
    b = make_unit("Xishan", parent=city)
    campaign = make_campaign(city, starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
    return {
        "city": city,
        "a": a,
        "b": b,
        "station_a": make_station(a, code="GD-1"),
        "station_a2": make_station(a, code="GD-2"),
        "station_b": make_station(b, code="XS-1"),
        "campaign": campaign,
    }


@pytest.fixture
def organiser_a(make_user, tree):
    return make_user(Role.ORGANISER, on=tree["a"], username="organiser_a")


def events(db, **where) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, key) == value)
    return list(db.session.scalars(stmt))


def activity_form(tree, **kw) -> dict:
    data = {
        "uid": UID,
        "campaign": tree["campaign"].id,
        "station": tree["station_a"].id,
        "theme": 1,
        "title": "Free haircuts",
        "day": "2026-03-08",
        "starts_time": "09:00",
        "ends_time": "11:30",
        "capacity": "40",
        "groups": ["courier", "rider"],
        "description": "",
    }
    data.update(kw)
    return data


# ---- recording ------------------------------------------------------------------------------


def test_editing_an_activity_through_the_page_records_before_and_after(
    client, db, tree, organiser_a, login, theme
):
    login(organiser_a)
    assert client.post("/activities/new", data=activity_form(tree, theme=theme.id)).status_code
    activity = db.session.scalar(select(Activity))
    created = events(db, object_type="activity", action="create")
    assert len(created) == 1 and created[0].object_id == activity.id
    assert created[0].changes["title"] == [None, "Free haircuts"]
    assert created[0].actor == "organiser_a" and created[0].user_id == organiser_a.id
    assert created[0].unit_path == tree["a"].path

    edit = activity_form(tree, theme=theme.id, title="Free haircuts and tea", capacity="60")
    assert client.post(f"/activities/{activity.id}/edit", data=edit).status_code == 302
    (updated,) = events(db, object_type="activity", action="update")
    assert updated.changes["title"] == ["Free haircuts", "Free haircuts and tea"]
    assert updated.changes["capacity"] == [40, 60]
    assert "sequence" not in updated.changes and "updated_at" not in updated.changes
    assert updated.label.startswith("Free haircuts and tea @ GD-1")
    assert updated.unit_path == tree["a"].path

    # Sending the same form again changes nothing: no event.
    client.post(f"/activities/{activity.id}/edit", data=edit)
    assert len(events(db, object_type="activity", action="update")) == 1


def test_a_cancellation_is_recorded_as_such(client, db, tree, organiser_a, login, make_activity):
    activity = make_activity(tree["station_a"], tree["campaign"])
    login(organiser_a)
    client.post(f"/activities/{activity.id}/cancel", data={"reason": "Typhoon"})
    (cancel,) = events(db, action="cancel")
    assert cancel.object_id == activity.id and cancel.unit_path == tree["a"].path
    assert cancel.changes["cancel_reason"] == [None, "Typhoon"]


def test_headcount_changes_are_recorded_with_the_group(
    client, db, tree, organiser_a, login, make_activity
):
    activity = make_activity(tree["station_a"], tree["campaign"])
    login(organiser_a)
    form = {}
    for group in BeneficiaryGroup:
        form[f"count_{group.value}"] = form[f"shown_{group.value}"] = "0"
    form["count_courier"] = "5"
    assert client.post(f"/activities/{activity.id}/attendance", data=form).status_code == 302
    form.update(shown_courier="5", count_courier="7")
    client.post(f"/activities/{activity.id}/attendance", data=form)
    changes = [e.changes for e in events(db, object_type="headcount")]
    assert changes == [{"courier": [0, 5]}, {"courier": [5, 7]}]
    assert {e.unit_path for e in events(db, object_type="headcount")} == {tree["a"].path}
    # The activity's history page shows them.
    page = client.get(f"/audit/activity/{activity.id}").get_data(as_text=True)
    shown = '<del class="text-danger-emphasis">5</del> → <span class="text-success-emphasis">7'
    assert shown in page


def test_a_tally_upload_is_one_event_per_group(db, tree, organiser_a, make_activity):
    activity = make_activity(tree["station_a"], tree["campaign"])
    taps = [{"nonce": f"tap-{i:010d}", "group": "rider"} for i in range(3)]
    taps.append({"nonce": "tap-undo-000001", "group": "rider", "delta": -1})
    apply_tally(activity, taps, organiser_a)
    db.session.commit()
    (tally,) = events(db, action="tally")
    assert tally.changes == {"rider": [0, 2]} and tally.unit_path == tree["a"].path


def test_a_self_check_in_is_not_recorded_but_an_annulment_is(
    client, db, tree, organiser_a, make_activity
):
    now = utcnow()
    activity = make_activity(
        tree["station_a"],
        tree["campaign"],
        starts_at=now - timedelta(minutes=30),
        ends_at=now + timedelta(hours=1),
    )
    before = db.session.scalar(select(func.count(AuditEvent.id)))
    token = activity.checkin_token
    page = client.get(f"/c/{token}").get_data(as_text=True)
    nonce = page.split('name="nonce"')[1].split('value="')[1].split('"')[0]
    answer = client.post(
        f"/c/{token}", data={"phone": "13912345678", "group": "rider", "nonce": nonce}
    )
    assert answer.status_code == 302
    row, _new = record_checkin(
        activity,
        identity_for("13800138000"),
        BeneficiaryGroup.COURIER,
        "paper-0000001",
        CheckInSource.PAPER,
        activity.starts_at,
    )
    db.session.commit()
    assert db.session.scalar(select(func.count(CheckIn.id))) == 2
    assert db.session.scalar(select(func.count(AuditEvent.id))) == before

    checkin = db.session.get(CheckIn, row.id)
    annul_checkin(checkin, "scanned twice", organiser_a)
    db.session.commit()
    (annul,) = events(db, object_type="checkin")
    assert annul.action == "annul" and annul.object_id == checkin.id
    assert annul.changes["annul_reason"] == [None, "scanned twice"]
    assert annul.unit_path == tree["a"].path
    assert identity_for("13800138000") not in json.dumps(annul.changes)


def _pledge_water_tickets(tree, sponsor, organiser):
    """100 books of water tickets at 100 yuan, pledged to the campaign."""
    fields = DonationFields(
        kind=DonationKind.IN_KIND,
        description="送水券",
        quantity=Decimal(100),
        unit_label="本",
        unit_value=Decimal(100),
        pledged_on=date(2024, 1, 5),
        campaign=tree["campaign"],
    )
    return pledge_donation(sponsor, fields, organiser)


def test_donation_received_and_handed_out_are_recorded(
    db, tree, make_sponsor, make_user, make_activity
):
    organiser = make_user(Role.ORGANISER, on=tree["city"])
    sponsor = make_sponsor(tree["city"], "中国石化")
    donation = _pledge_water_tickets(tree, sponsor, organiser)
    db.session.commit()
    (pledged,) = events(db, object_type="donation", action="create")
    assert pledged.changes["value"] == [None, "10000.00"]
    assert pledged.unit_path == tree["city"].path

    receive_donation(donation, date(2024, 1, 10), organiser)
    db.session.commit()
    (received,) = events(db, action="receive")
    assert received.changes["status"] == ["pledged", "received"]
    assert received.changes["received_on"] == [None, "2024-01-10"]
    assert received.changes["receipt_number"][1]

    activity = make_activity(tree["station_a"], tree["campaign"])
    distribute(organiser, donation, quantity=Decimal(40), on=date(2024, 1, 10), activity=activity)
    db.session.commit()
    (handed,) = events(db, action="distribute")
    assert handed.changes["distributed"] == ["0.00", "40.00"]
    (share,) = events(db, object_type="distribution", action="create")
    assert share.changes["quantity"] == [None, "40"] and share.label == "送水券 × 40"
    assert share.unit_path == tree["city"].path


def test_a_donation_history_shows_its_hand_outs(
    client, db, tree, login, make_sponsor, make_user, make_activity
):
    organiser = make_user(Role.ORGANISER, on=tree["city"])
    donation = _pledge_water_tickets(tree, make_sponsor(tree["city"], "中国石化"), organiser)
    receive_donation(donation, date(2024, 1, 10), organiser)
    activity = make_activity(tree["station_a"], tree["campaign"])
    distribute(organiser, donation, quantity=Decimal(40), on=date(2024, 1, 10), activity=activity)
    db.session.commit()
    login(organiser)
    page = client.get(f"/audit/donation/{donation.id}").get_data(as_text=True)
    assert "送水券 × 40" in page  # the hand-out, recorded as a distribution of its own


def test_a_role_grant_is_recorded_with_the_unit_path(db, tree, make_user):
    user = make_user(username="newcomer")
    grant(user, Role.ORGANISER, unit=tree["b"])
    db.session.commit()
    (granted,) = events(db, object_type="role_grant")
    assert granted.action == "create" and granted.unit_path == tree["b"].path
    assert granted.changes["role"] == [None, "organiser"]
    assert granted.label == "newcomer → Xishan"
    grant(user, Role.ADMIN)
    db.session.commit()
    assert events(db, object_type="role_grant")[-1].unit_path is None

    db.session.delete(db.session.scalar(select(RoleGrant).where(RoleGrant.unit_id == tree["b"].id)))
    db.session.commit()
    deleted = events(db, object_type="role_grant", action="delete")
    assert deleted[0].changes["role"] == ["organiser", None]


def test_password_changes_are_actions_without_values(app, db, make_user):
    user = make_user(username="someone", display_name="Some One")
    hashed = user.password_hash
    user.set_password("a temporary password 456")  # the CLI, or an administrator: a reset
    db.session.commit()
    user.display_name = "Some Body"
    db.session.commit()
    with app.test_request_context():
        login_user(user)
        user.set_password("my own new password 789")  # the user themself: a change
        db.session.commit()
    log = events(db, object_type="user")
    assert [e.action for e in log] == ["create", "password_reset", "update", "password_changed"]
    assert log[1].changes == {} and log[3].changes == {}
    assert log[2].changes == {"display_name": ["Some One", "Some Body"]}
    everything = json.dumps([e.changes for e in events(db)]) + " ".join(e.label for e in events(db))
    assert hashed not in everything and user.password_hash not in everything
    assert "password_hash" not in everything and "session_version" not in everything


def test_a_sign_in_alone_records_nothing(client, db, make_user, login):
    user = make_user()
    before = db.session.scalar(select(func.count(AuditEvent.id)))
    login(user)
    assert db.session.scalar(select(func.count(AuditEvent.id))) == before


def test_a_unit_move_is_recorded_under_both_sides(client, db, tree, make_unit, make_user, login):
    street = make_unit("Street 1", parent=tree["a"])
    created = events(db, object_type="unit", object_id=street.id)
    assert [e.action for e in created] == ["create"]
    assert created[0].unit_path == street.path and created[0].changes["name"] == [None, "Street 1"]
    old_path = street.path
    login(make_user(Role.ORGANISER, on=tree["city"]))
    response = client.post(f"/units/{street.id}/move", data={"parent": tree["b"].id})
    assert response.status_code == 302
    (move,) = events(db, action="move")
    db.session.expire_all()
    assert move.object_id == street.id and move.unit_path == old_path
    assert move.changes["parent"] == ["Guandu", "Xishan"]
    assert move.changes["path"] == [old_path, db.session.get(type(street), street.id).path]
    (parent_change,) = events(db, object_type="unit", object_id=street.id, action="update")
    assert parent_change.changes["parent_id"] == [tree["a"].id, tree["b"].id]
    assert parent_change.unit_path.startswith(tree["b"].path)


def test_a_series_is_recorded_as_one_summary(client, db, tree, organiser_a, login, theme):
    login(organiser_a)
    data = {
        "uid": UID,
        "campaign": tree["campaign"].id,
        "theme": theme.id,
        "title": "Summer green tea",
        "starts_time": "14:00",
        "ends_time": "17:00",
        "pick": "subtree",
        "unit": tree["a"].id,
        "repeat": "daily",
        "first": "2026-07-01",
        "count": "5",
        "interval": "1",
        "nth": "2",
        "nth_weekday": "6",
        "conflicts": "skip",
        "dates": "",
        "excluded": "",
        "create": "y",
    }
    assert client.post("/activities/series/new", data=data).status_code == 302
    assert db.session.scalar(select(func.count(Activity.id))) == 10
    assert events(db, object_type="activity") == []
    (summary,) = events(db, object_type="series")
    assert summary.action == "create" and summary.label == "Summer green tea"
    assert summary.changes["activities"] == [None, 10]
    assert summary.unit_path == tree["a"].path


def test_the_switch_turns_recording_off(app, db, tree, make_station):
    app.config["AUDIT_ENABLED"] = False
    try:
        make_station(tree["a"], code="GD-9")
    finally:
        app.config["AUDIT_ENABLED"] = True
    assert not [e for e in events(db, object_type="station") if e.label.startswith("GD-9")]
    make_station(tree["a"], code="GD-8")
    assert [e for e in events(db, object_type="station") if e.label.startswith("GD-8")]


# Importing the audit package installs nothing; create_app installs the listener, once for
# the Session class however many apps it makes.
INSTALL_SCRIPT = """
import sys
from sqlalchemy import event
from sqlalchemy.orm import Session
import inclusive_day.audit.summaries, inclusive_day.audit.views, inclusive_day.models
from inclusive_day import create_app
from inclusive_day.audit.specs import RECORDER
from inclusive_day.config import TestConfig
assert not event.contains(Session, "after_flush", RECORDER.after_flush)
create_app(TestConfig(sys.argv[1]))
create_app(TestConfig(sys.argv[1]))
assert event.contains(Session, "after_flush", RECORDER.after_flush)
"""


def test_the_listener_is_installed_by_create_app_not_by_an_import(database_url):
    subprocess.run([sys.executable, "-c", INSTALL_SCRIPT, database_url], check=True)


def test_another_app_adds_no_second_listener(database_url, db, tree, make_station):
    create_app(TestConfig(database_url))
    make_station(tree["a"], code="GD-7")
    assert len([e for e in events(db, object_type="station") if e.label.startswith("GD-7")]) == 1


def test_common_path():
    assert common_path(["/1/7/4/", "/1/7/9/12/"]) == "/1/7/"
    assert common_path(["/1/7/4/"]) == "/1/7/4/"
    assert common_path(["/1/", "/2/"]) is None
    assert common_path([]) is None


# ---- reading --------------------------------------------------------------------------------


def test_an_organiser_reads_their_subtree_only(
    client, db, tree, organiser_a, make_user, make_activity, login
):
    mine = make_activity(tree["station_a"], tree["campaign"], title="Ours in Guandu")
    theirs = make_activity(tree["station_b"], tree["campaign"], title="Theirs in Xishan")
    login(organiser_a)
    page = client.get("/audit/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Ours in Guandu" in html and "Theirs in Xishan" not in html
    # Filtering on the other district is refused, as is its history.
    assert client.get(f"/audit/?unit={tree['b'].id}").status_code == 404
    assert client.get(f"/audit/activity/{theirs.id}").status_code == 404
    history = client.get(f"/audit/activity/{mine.id}").get_data(as_text=True)
    assert "Ours in Guandu" in history
    # Filters narrow the list.
    only_units = client.get("/audit/?type=unit").get_data(as_text=True)
    assert "Ours in Guandu" not in only_units
    by_nobody = client.get("/audit/?user=organiser_a").get_data(as_text=True)
    assert "Ours in Guandu" not in by_nobody  # made by the test itself ("system")
    today = utcnow().date()
    dated = client.get(f"/audit/?from={today - timedelta(days=1)}&to={today + timedelta(days=1)}")
    assert "Ours in Guandu" in dated.get_data(as_text=True)
    old = client.get("/audit/?from=2020-01-01&to=2020-01-31").get_data(as_text=True)
    assert "Ours in Guandu" not in old


def test_an_administrator_reads_everything(client, db, tree, make_user, make_activity, login):
    make_activity(tree["station_b"], tree["campaign"], title="Theirs in Xishan")
    make_user(username="quiet_one")
    login(make_user(Role.ADMIN))
    html = client.get("/audit/").get_data(as_text=True)
    assert "Theirs in Xishan" in html
    # Events above every unit (user accounts) are the administrators' alone.
    assert "quiet_one" in client.get("/audit/?type=user").get_data(as_text=True)


def test_the_log_names_referenced_records_and_says_who_in_the_readers_language(
    app, db, tree, make_activity
):
    activity = make_activity(tree["station_b"], tree["campaign"], title="Theirs in Xishan")
    (created,) = events(db, object_type="activity", action="create")
    assert created.actor == "system" and created.user_id is None
    with app.test_request_context("/audit/", headers={"Accept-Language": "en"}):
        (row,) = rows_of([created])
    changes = {label: after for label, _before, after in row.changes}
    assert changes["Station"] == tree["station_b"].name
    assert changes["Campaign"] == tree["campaign"].name
    assert changes["Theme"] == activity.theme.name_en
    assert row.actor == "the system"


def test_the_list_pages_by_fifty(client, db, tree, make_user, login):
    admin = make_user(Role.ADMIN)
    for i in range(60):
        db.session.add(
            AuditEvent(
                at=datetime(2026, 1, 1, tzinfo=UTC),
                actor="x",
                action="update",
                object_type="station",
                object_id=i,
                label=f"row-{i:03d}",
                unit_path=tree["a"].path,
                changes={},
            )
        )
    db.session.commit()
    login(admin)
    first = client.get("/audit/?type=station").get_data(as_text=True)
    assert "row-059" in first and "row-010" in first and "row-009" not in first
    oldest_shown = db.session.scalar(select(AuditEvent.id).where(AuditEvent.label == "row-010"))
    second = client.get(f"/audit/?type=station&before={oldest_shown}").get_data(as_text=True)
    assert "row-009" in second and "row-000" in second and "row-010" not in second


@pytest.mark.parametrize("role", [Role.VIEWER, Role.STATION_MANAGER, Role.SPONSOR_REP])
def test_other_roles_get_404(client, db, tree, make_user, make_sponsor, login, role):
    on = {
        Role.VIEWER: tree["a"],
        Role.STATION_MANAGER: tree["station_a"],
        Role.SPONSOR_REP: make_sponsor(tree["a"]),
    }[role]
    login(make_user(role, on=on))
    assert client.get("/audit/").status_code == 404
    assert client.get(f"/audit/station/{tree['station_a'].id}").status_code == 404


def test_signed_out_users_are_sent_to_sign_in(client, tree):
    response = client.get("/audit/")
    assert response.status_code == 302 and "/auth/login" in response.location


def test_the_activity_page_links_its_history_for_organisers(
    client, db, tree, organiser_a, make_activity, login
):
    activity = make_activity(tree["station_a"], tree["campaign"])
    login(organiser_a)
    html = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert f'href="/audit/activity/{activity.id}"' in html


def test_user_events_are_not_shown_to_organisers(client, db, make_user, login, tree):
    make_user(username="quiet_one")
    assert events(db, object_type="user", label="quiet_one")[0].unit_path is None
    login(make_user(Role.ORGANISER, on=tree["city"]))
    assert "quiet_one" not in client.get("/audit/?type=user").get_data(as_text=True)


# ---- the station network --------------------------------------------------------------------


def catalogue(db, model, code):
    return db.session.scalar(select(model).where(model.code == code))


def test_a_fund_line_is_in_its_units_log_only(client, db, app, tree, organiser_a, make_user, login):
    with app.test_request_context():
        login_user(organiser_a)
        line = FundLine(
            kind=FundKind.CONSTRUCTION_SUBSIDY,
            amount=Decimal("3000.00"),
            year=2026,
            unit=tree["a"],
            station=tree["station_a"],
            source_unit=tree["a"],
            allocated_on=date(2026, 3, 1),
            note="建设补助",
        )
        db.session.add(line)
        db.session.commit()
    (created,) = events(db, object_type="fund_line")
    assert (created.action, created.object_id, created.actor) == ("create", line.id, "organiser_a")
    assert created.unit_path == tree["a"].path
    assert created.label == "GD-1 2026 ¥3000.00"
    assert created.changes["amount"] == [None, "3000.00"]
    assert created.changes["kind"] == [None, "construction_subsidy"]
    line.paid_on = date(2026, 3, 15)
    db.session.commit()
    paid = events(db, object_type="fund_line", action="update")[0]
    assert paid.changes == {"paid_on": [None, "2026-03-15"]}

    login(organiser_a)
    html = client.get("/audit/?type=fund_line").get_data(as_text=True)
    for shown in ("Fund line", "GD-1 2026 ¥3000.00", "construction subsidy", "Amount (yuan)"):
        assert shown in html, shown
    assert "Allocated or invested by" in html and "Guandu" in html  # the unit, by its name
    assert "Paid on" in html
    client.post("/auth/logout")
    login(make_user(Role.ORGANISER, on=tree["b"]))
    assert "GD-1 2026" not in client.get("/audit/").get_data(as_text=True)


def test_a_label_award_is_in_the_stations_history(client, db, tree, organiser_a, login):
    station = tree["station_a"]
    smart = catalogue(db, Label, "smart")
    award = LabelAward(station=station, label=smart, year=2025, awarded_by=tree["city"])
    db.session.add(award)
    db.session.commit()
    (created,) = events(db, object_type="label_award")
    assert created.unit_path == tree["a"].path
    assert created.label == "GD-1 智慧驿站 2025"
    assert created.changes["label_id"] == [None, smart.id]
    award.year = 2026
    db.session.commit()
    db.session.delete(award)
    db.session.commit()
    assert [e.action for e in events(db, object_type="label_award")] == [
        "create",
        "update",
        "delete",
    ]

    login(organiser_a)
    # The station's history keeps its labels, the one since withdrawn too.
    html = client.get(f"/audit/station/{station.id}").get_data(as_text=True)
    assert html.count("GD-1 智慧驿站") == 3
    assert "Label held" in html and "smart station" in html  # the label, by its name
    assert "Awarded by" in html and "Kunming" in html
    other = client.get(f"/audit/station/{tree['station_a2'].id}").get_data(as_text=True)
    assert "智慧驿站" not in other


def test_a_stations_partners_and_lifecycle_are_its_changes(client, db, tree, organiser_a, login):
    station = tree["station_a"]
    sinopec = Partner(unit=tree["city"], name="中国石化")
    telecom = Partner(unit=tree["a"], name="中国电信")
    db.session.add_all([sinopec, telecom])
    db.session.commit()
    station.set_partners([sinopec, telecom])
    db.session.commit()
    station.set_partners([telecom])
    db.session.commit()
    db.session.add(StationPartner(station=tree["station_a2"], partner=sinopec))
    db.session.commit()
    changed = [
        e for e in events(db, object_type="station", action="update") if "partners" in e.changes
    ]
    assert [(e.object_id, e.changes["partners"]) for e in changed] == [
        (station.id, [[], ["中国电信", "中国石化"]]),
        (station.id, [["中国电信", "中国石化"], ["中国电信"]]),
        (tree["station_a2"].id, [[], ["中国石化"]]),
    ]
    partners = events(db, object_type="partner")
    assert [(e.label, e.unit_path) for e in partners] == [
        ("中国石化", tree["city"].path),
        ("中国电信", tree["a"].path),
    ]
    # A partner deleted leaves the stations it co-built: each says so.
    db.session.delete(sinopec)
    db.session.commit()
    last = events(db, object_type="station", action="update")[-1]
    assert (last.object_id, last.changes) == (
        tree["station_a2"].id,
        {"partners": [["中国石化"], []]},
    )
    assert events(db, object_type="partner", action="delete")[0].label == "中国石化"

    hall = catalogue(db, HostType, "telecom_hall")
    opened = station.opened_on
    station.host_type = hall
    station.status = StationStatus.CLOSED
    station.closed_on = opened
    station.closure_reason = "道路改造"
    db.session.commit()
    closing = events(db, object_type="station", action="update")[-1]
    assert closing.changes["status"] == ["active", "closed"]
    assert closing.changes["closed_on"] == [None, opened.isoformat()]
    assert closing.changes["closure_reason"] == ["", "道路改造"]
    assert closing.changes["host_type_id"][1] == hall.id
    login(organiser_a)
    html = client.get(f"/audit/station/{station.id}").get_data(as_text=True)
    for shown in ("Co-building partners", "Closed on", "Why it closed", "Host type"):
        assert shown in html, shown
    assert "telecom business hall" in html and "other" in html  # by name, before and after
    assert "道路改造" in html and ">closed<" in html


def test_targets_goals_and_catalogues_are_logged(client, db, tree, make_user, login):
    db.session.add_all(
        [
            ConstructionTarget(unit=tree["a"], year=2026, stations=120, due_on=date(2026, 12, 31)),
            CoverageGoal(unit=tree["city"], year=2026, level=Level.DISTRICT, percent=50),
            HostType(code="kiosk", name_zh="报刊亭", name_en="kiosk", position=20),
        ]
    )
    db.session.commit()
    (target,) = events(db, object_type="construction_target")
    assert (target.unit_path, target.label) == (tree["a"].path, "Guandu 2026")
    assert target.changes["stations"] == [None, 120]
    (goal,) = events(db, object_type="coverage_goal")
    assert (goal.unit_path, goal.label) == (tree["city"].path, "Kunming 2026 district")
    (kind,) = events(db, object_type="host_type")
    assert (kind.unit_path, kind.label) == (None, "报刊亭")
    login(make_user(Role.ORGANISER, on=tree["a"]))
    html = client.get("/audit/").get_data(as_text=True)
    assert "Guandu 2026" in html and "Stations to have open" in html
    assert "Kunming 2026" not in html and "报刊亭" not in html
    client.post("/auth/logout")
    login(make_user(Role.ADMIN))
    assert "报刊亭" in client.get("/audit/?type=host_type").get_data(as_text=True)
