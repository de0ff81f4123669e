"""Station administrators: appointing and ending appointments, training records, duty sign-on
and sign-off (each refusal writing nothing, the index holding one open shift), duty figures
per station, day and sub-unit, and the roster and duty pages with their access."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from inclusive_day.audit.models import AuditEvent
from inclusive_day.auth.models import Role
from inclusive_day.periods import Month, local_today
from inclusive_day.staffing import services
from inclusive_day.staffing.models import AdminRole, DutyShift, StationAdmin, Training
from inclusive_day.staffing.queries import (
    counted_days,
    duty_by_child,
    duty_by_station,
    duty_days,
    duty_in,
)
from inclusive_day.staffing.services import (
    Refusal,
    StaffingError,
    add_training,
    appoint,
    end_appointment,
    sign_off,
    sign_on,
)
from inclusive_day.stations.models import StationStatus
from inclusive_day.units.models import Level
from tests.conftest import count_queries

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2024, 7, 1)
HOURS = "08:00-20:00"
OPEN = {"opened_on": date(2024, 1, 1), "opening_hours": HOURS}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A moment of a local day in Shanghai."""
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def counts(db) -> tuple[int, int, int, int]:
    """Rows of administrators, trainings, shifts and audit events: a refusal changes none."""
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (StationAdmin, Training, DutyShift, AuditEvent)
    )


@pytest.fixture
def world(db, make_unit, make_station, make_user):
    """A city with districts A and B, an open station in each (with opening hours), users of
    each role, and an account that will run A's station."""
    city = make_unit("City", level=Level.CITY)
    a = make_unit("District A", city, level=Level.DISTRICT)
    b = make_unit("District B", city, level=Level.DISTRICT)
    station_a = make_station(a, "Station A", code="SA-1", **OPEN)
    station_a2 = make_station(a, "Station A2", code="SA-2", **OPEN)
    station_b = make_station(b, "Station B", code="SB-1", **OPEN)

    class W:
        pass

    w = W()
    w.city, w.a, w.b = city, a, b
    w.station_a, w.station_a2, w.station_b = station_a, station_a2, station_b
    w.organiser_a = make_user(Role.ORGANISER, a)
    w.viewer_a = make_user(Role.VIEWER, a)
    w.organiser_b = make_user(Role.ORGANISER, b)
    w.runner = make_user(username="zhangwei")  # no role: runs a station through the roster
    return w


# ---- the roster ----------------------------------------------------------------------------


def test_appointing_and_replacing_a_master(db, world):
    master = appoint(
        world.station_a, " 张伟 ", "0871-1234567", AdminRole.MASTER, date(2024, 1, 1),
        user=world.runner, today=TODAY,
    )  # fmt: skip
    db.session.commit()
    assert (master.name, master.phone, master.user_id) == ("张伟", "0871-1234567", world.runner.id)
    (event,) = db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "station_admin")
    )
    assert event.action == "create" and event.unit_path == world.a.path
    assert "SA-1" in event.label and "张伟" in event.label

    # An assistant beside the master is fine; a second master is not, unless replacing.
    appoint(world.station_a, "李娜", "", AdminRole.ASSISTANT, date(2024, 2, 1), today=TODAY)
    before = counts(db)
    with pytest.raises(StaffingError) as refused:
        appoint(world.station_a, "王芳", "", AdminRole.MASTER, date(2024, 3, 1), today=TODAY)
    assert refused.value.code is Refusal.MASTER_TAKEN and "张伟" in str(refused.value.message)
    assert counts(db) == before
    with pytest.raises(StaffingError) as refused:  # replacing from before the old one began
        appoint(
            world.station_a, "王芳", "", AdminRole.MASTER, date(2024, 1, 1), replace=True,
            today=TODAY,
        )  # fmt: skip
    assert refused.value.code is Refusal.BAD_SINCE and counts(db) == before

    new = appoint(
        world.station_a, "王芳", "", AdminRole.MASTER, date(2024, 3, 1), replace=True, today=TODAY
    )
    db.session.commit()
    assert master.until == date(2024, 2, 29) and new.is_current


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"name": "  "}, Refusal.BAD_NAME, "name"),
        ({"name": "张" * 61}, Refusal.BAD_NAME, "name"),
        ({"phone": "call me"}, Refusal.BAD_PHONE, "phone"),
        ({"since": None}, Refusal.BAD_SINCE, "since"),
        ({"since": TODAY + timedelta(days=1)}, Refusal.BAD_SINCE, "since"),
        ({"since": date(1999, 12, 31)}, Refusal.BAD_SINCE, "since"),
    ],
)
def test_an_appointment_that_breaks_a_rule_writes_nothing(db, world, change, code, field):
    values = {"name": "张伟", "phone": "13800138000", "since": date(2024, 1, 1)} | change
    before = counts(db)
    with pytest.raises(StaffingError) as refused:
        appoint(
            world.station_a, values["name"], values["phone"], AdminRole.MASTER, values["since"],
            today=TODAY,
        )  # fmt: skip
    assert (refused.value.code, refused.value.field) == (code, field)
    assert counts(db) == before


def test_an_account_runs_a_station_once_and_must_exist(db, world, make_user):
    appoint(world.station_a, "张伟", "", AdminRole.MASTER, TODAY, world.runner, today=TODAY)
    before = counts(db)
    with pytest.raises(StaffingError) as refused:
        appoint(world.station_a, "张伟", "", AdminRole.ASSISTANT, TODAY, world.runner, today=TODAY)
    assert refused.value.code is Refusal.ALREADY_ADMIN
    with pytest.raises(StaffingError) as refused:
        services.find_account("nobody-here")
    assert refused.value.code is Refusal.UNKNOWN_ACCOUNT and refused.value.field == "username"
    with pytest.raises(StaffingError) as refused:
        services.find_account(make_user(username="gone", active=False).username)
    assert refused.value.code is Refusal.UNKNOWN_ACCOUNT
    before = counts(db)
    assert services.find_account(" ZhangWei ") == world.runner
    assert services.find_account("") is None
    assert counts(db) == before


def test_ending_an_appointment(db, world):
    admin = appoint(world.station_a, "张伟", "", AdminRole.MASTER, date(2024, 3, 1), today=TODAY)
    db.session.commit()
    before = counts(db)
    for until in (None, date(2024, 2, 1), TODAY + timedelta(days=1)):
        with pytest.raises(StaffingError) as refused:
            end_appointment(admin, until, today=TODAY)
        assert refused.value.code is Refusal.BAD_UNTIL
    assert counts(db) == before and admin.until is None
    end_appointment(admin, TODAY, today=TODAY)
    db.session.commit()
    assert admin.until == TODAY and not admin.is_current
    with pytest.raises(StaffingError) as refused:
        end_appointment(admin, TODAY, today=TODAY)
    assert refused.value.code is Refusal.ALREADY_ENDED


def test_ending_an_appointment_signs_off_its_open_shift(db, world):
    admin = appoint(world.station_a, "张伟", "", AdminRole.MASTER, date(2024, 3, 1), world.runner)
    shift = sign_on(world.runner, world.station_a)
    db.session.commit()
    end_appointment(admin, local_today())
    db.session.commit()
    assert shift.ended_at is not None and services.open_shift_of(world.runner) is None


# ---- training -------------------------------------------------------------------------------


def test_a_training_record(db, world, make_admin):
    admin = make_admin(world.station_a)
    training = add_training(
        admin, "驿站管理员培训", date(2024, 5, 10), "7.5", "GH-001", today=TODAY
    )
    db.session.commit()
    assert training.hours == Decimal("7.5") and admin.trainings == [training]
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "training"))
    assert event.unit_path == world.a.path and "驿站管理员培训" in event.label


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"taken_on": TODAY + timedelta(days=1)}, Refusal.BAD_TRAINING_DAY),
        ({"taken_on": None}, Refusal.BAD_TRAINING_DAY),
        ({"hours": 0}, Refusal.BAD_HOURS),
        ({"hours": "-2"}, Refusal.BAD_HOURS),
        ({"hours": "200.5"}, Refusal.BAD_HOURS),
        ({"hours": "1.25"}, Refusal.BAD_HOURS),
        ({"hours": None}, Refusal.BAD_HOURS),
        ({"hours": "many"}, Refusal.BAD_HOURS),
        ({"course": ""}, Refusal.BAD_COURSE),
        ({"certificate": "x" * 61}, Refusal.BAD_CERTIFICATE),
    ],
)
def test_a_training_that_breaks_a_rule_writes_nothing(db, world, make_admin, change, code):
    admin = make_admin(world.station_a)
    values = {"course": "急救培训", "taken_on": date(2024, 5, 10), "hours": 4, "certificate": ""}
    values |= change
    before = counts(db)
    with pytest.raises(StaffingError) as refused:
        add_training(admin, **values, today=TODAY)
    assert refused.value.code is code
    assert counts(db) == before


# ---- duty -----------------------------------------------------------------------------------


def test_signing_on_and_off(db, world, make_admin):
    make_admin(world.station_a, "张伟", user=world.runner)
    now = datetime(2024, 6, 30, 17, 0, tzinfo=UTC)  # 1 July, 01:00 in Shanghai
    shift = sign_on(world.runner, world.station_a, now=now)
    db.session.commit()
    assert shift.day == date(2024, 7, 1) and shift.is_open
    ended = sign_off(world.runner, world.station_a, now=now + timedelta(hours=3))
    db.session.commit()
    assert ended.id == shift.id and ended.ended_at == now + timedelta(hours=3)


def test_duty_refusals_write_nothing(db, world, make_admin, make_user):
    admin = make_admin(world.station_a, "张伟", user=world.runner)
    make_admin(world.station_a2, "张伟", user=world.runner, role=AdminRole.ASSISTANT)
    stranger = make_user()
    before = counts(db)

    def refused(call, *args) -> Refusal:
        with pytest.raises(StaffingError) as error:
            call(*args)
        assert counts(db) == before
        return error.value.code

    # Not an administrator of this station (nor of any).
    assert refused(sign_on, stranger, world.station_a) is Refusal.NOT_AN_ADMIN
    assert refused(sign_on, world.runner, world.station_b) is Refusal.NOT_AN_ADMIN
    # A sign-off with no sign-on.
    assert refused(sign_off, world.runner, world.station_a) is Refusal.NOT_ON_DUTY
    sign_on(world.runner, world.station_a)
    db.session.commit()
    before = counts(db)
    # A second sign-on, here or at the other station the account runs.
    assert refused(sign_on, world.runner, world.station_a) is Refusal.ALREADY_ON_DUTY
    assert refused(sign_on, world.runner, world.station_a2) is Refusal.ALREADY_ON_DUTY
    # Signing off at a station one is not on duty at, or a shift that is not the open one.
    assert refused(sign_off, world.runner, world.station_a2) is Refusal.NOT_ON_DUTY
    assert refused(sign_off, world.runner, world.station_a, None, 999999) is Refusal.NOT_ON_DUTY
    sign_off(world.runner, world.station_a)
    db.session.commit()
    before = counts(db)
    assert refused(sign_off, world.runner, world.station_a) is Refusal.NOT_ON_DUTY
    # An appointment that ended is no longer a place to sign on.
    admin.until = local_today()
    db.session.commit()
    before = counts(db)
    assert refused(sign_on, world.runner, world.station_a) is Refusal.NOT_AN_ADMIN


@pytest.mark.parametrize("status", [StationStatus.SUSPENDED, StationStatus.PLANNED])
def test_no_one_signs_on_at_a_station_that_is_not_open(db, world, make_admin, make_station, status):
    station = make_station(world.a, status=status, opening_hours=HOURS)
    make_admin(station, user=world.runner)
    before = counts(db)
    with pytest.raises(StaffingError) as refused:
        sign_on(world.runner, station)
    assert refused.value.code is Refusal.STATION_NOT_OPEN and counts(db) == before


def test_a_double_sign_on_at_once_is_caught_by_the_index(db, world, make_admin, monkeypatch):
    make_admin(world.station_a, user=world.runner)
    sign_on(world.runner, world.station_a)
    db.session.commit()
    before = counts(db)
    # The second tap read "not on duty" before the first one committed.
    monkeypatch.setattr(services, "open_shift_of", lambda _user: None)
    with pytest.raises(StaffingError) as refused:
        sign_on(world.runner, world.station_a)
    assert refused.value.code is Refusal.ALREADY_ON_DUTY
    assert counts(db) == before
    db.session.commit()  # the session is still usable: the savepoint alone was rolled back
    assert db.session.scalar(select(func.count()).select_from(DutyShift)) == 1


# ---- duty figures ---------------------------------------------------------------------------

JUNE = Month(2024, 6)
FIRST, LAST = date(2024, 6, 1), date(2024, 6, 30)
NOW = datetime(2024, 7, 1, 4, 0, tzinfo=UTC)


@pytest.fixture
def month(db, make_unit, make_station, make_admin):
    """June 2024 in a city: district D1 with a station open all month (three days on duty,
    6.5 hours) and a 24-hour one (a shift, no duty expected); D2 with a station opened on
    21 June and one closed on 11 June (ten expected days each, one attended); the city's own
    station keeps no opening hours."""
    city = make_unit("City", level=Level.CITY)
    d1 = make_unit("D1", city, level=Level.DISTRICT)
    d2 = make_unit("D2", city, level=Level.DISTRICT)
    s1 = make_station(d1, "All month", opened_on=date(2024, 5, 1), opening_hours=HOURS)
    s24 = make_station(d1, "Round the clock", opened_on=date(2024, 5, 1), open_24h=True)
    s2 = make_station(d2, "Opened late", opened_on=date(2024, 6, 21), opening_hours=HOURS)
    s3 = make_station(
        d2,
        "Closed early",
        status=StationStatus.CLOSED,
        opened_on=date(2024, 1, 1),
        closed_on=date(2024, 6, 11),
        closure_reason="moved",
        opening_hours=HOURS,
    )
    s0 = make_station(city, "No hours", opened_on=date(2024, 5, 1), opening_hours="")

    def shift(station, name, day, start, end):
        admins = {
            a.name: a
            for a in db.session.scalars(
                select(StationAdmin).where(StationAdmin.station_id == station.id)
            )
        }
        role = AdminRole.ASSISTANT if admins else AdminRole.MASTER
        admin = admins.get(name) or make_admin(station, name, role=role)
        db.session.add(
            DutyShift(
                admin_id=admin.id,
                station_id=station.id,
                day=day,
                started_at=at(day, *start),
                ended_at=at(day, *end),
            )
        )

    shift(s1, "张伟", date(2024, 6, 1), (10, 0), (12, 0))
    shift(s1, "张伟", date(2024, 6, 2), (9, 0), (10, 0))
    shift(s1, "李娜", date(2024, 6, 2), (14, 0), (14, 30))
    shift(s1, "张伟", date(2024, 6, 3), (8, 0), (11, 0))
    shift(s24, "王芳", date(2024, 6, 5), (10, 0), (11, 0))
    shift(s2, "赵磊", date(2024, 6, 10), (10, 0), (11, 0))  # before it opened: hours only
    shift(s2, "赵磊", date(2024, 6, 25), (10, 0), (14, 0))
    shift(s3, "陈静", date(2024, 6, 5), (9, 0), (11, 0))
    db.session.add(  # July: outside the month
        DutyShift(
            admin_id=db.session.scalar(select(StationAdmin.id).where(StationAdmin.name == "张伟")),
            station_id=s1.id,
            day=date(2024, 7, 1),
            started_at=at(date(2024, 7, 1), 9),
            ended_at=at(date(2024, 7, 1), 10),
        )
    )
    db.session.commit()
    return {"city": city, "d1": d1, "d2": d2, "s1": s1, "s24": s24, "s2": s2, "s3": s3, "s0": s0}


def test_duty_per_station_and_day(db, month):
    s1, s24 = month["s1"], month["s24"]
    duty = duty_by_station([s1.id, s24.id, month["s0"].id], FIRST, LAST, NOW)
    assert (duty[s1.id].expected, duty[s1.id].attended, duty[s1.id].absent) == (30, 3, 27)
    assert duty[s1.id].hours == 6.5 and duty[s1.id].rate == pytest.approx(0.1)
    # A 24-hour station expects no one: its shift counts as hours, never as attendance.
    assert (duty[s24.id].expected, duty[s24.id].attended, duty[s24.id].hours) == (0, 0, 1.0)
    assert duty[s24.id].rate is None
    assert month["s0"].id not in duty  # no hours, no shift

    days = duty_days(s1, FIRST, LAST, NOW)
    assert [d.day for d in days][:2] == [FIRST, FIRST + timedelta(days=1)] and len(days) == 30
    second = days[1]
    assert (second.expected, second.attended, second.hours, second.names) == (
        True,
        True,
        1.5,
        ("张伟", "李娜"),
    )
    assert days[3].absent and not days[3].shifts
    assert sum(d.expected for d in days) == 30 and sum(d.attended for d in days) == 3
    assert sum(d.absent for d in days) == 27 and sum(d.hours for d in days) == 6.5
    assert not any(d.expected for d in duty_days(s24, FIRST, LAST, NOW))

    late = duty_days(month["s2"], FIRST, LAST, NOW)
    assert sum(d.expected for d in late) == 10 and sum(d.attended for d in late) == 1
    assert late[9].shifts == 1 and not late[9].expected and not late[9].attended
    closed = duty_days(month["s3"], FIRST, LAST, NOW)
    assert [d.expected for d in closed] == [True] * 10 + [False] * 20


def test_duty_rolls_up_per_sub_unit(db, month):
    by_child = duty_by_child(month["city"], FIRST, LAST, NOW)
    d1, d2 = by_child[month["d1"].id], by_child[month["d2"].id]
    assert (d1.expected, d1.attended, d1.absent, d1.hours) == (30, 3, 27, 7.5)
    assert (d2.expected, d2.attended, d2.absent, d2.hours) == (20, 2, 18, 7.0)
    assert month["city"].id not in by_child  # its own station expects no one, kept no shift
    total = duty_in(month["city"].path, FIRST, LAST, NOW)
    assert (total.expected, total.attended, total.absent, total.hours) == (50, 5, 45, 14.5)


def test_an_open_shift_counts_until_now(db, month, make_admin):
    s1 = month["s1"]
    admin = make_admin(s1, "夜班", role=AdminRole.ASSISTANT)
    db.session.add(
        DutyShift(admin_id=admin.id, station_id=s1.id, day=date(2024, 6, 30), started_at=at(
            date(2024, 6, 30), 18))
    )  # fmt: skip
    db.session.commit()
    now = at(date(2024, 6, 30), 20)
    assert duty_by_station([s1.id], FIRST, LAST, now)[s1.id].hours == 8.5
    assert duty_days(s1, FIRST, LAST, now)[-1].hours == 2.0


def test_the_days_counted_stop_today():
    assert counted_days(JUNE, date(2024, 8, 3)) == (FIRST, LAST)
    assert counted_days(JUNE, date(2024, 6, 12)) == (FIRST, date(2024, 6, 12))
    assert counted_days(JUNE, date(2024, 5, 31)) is None


# ---- pages ----------------------------------------------------------------------------------


def test_station_duty_and_rollup_pages(client, db, month, make_user, login):
    login(make_user(Role.VIEWER, month["city"]))
    html = client.get(f"/stations/{month['s1'].id}/duty?month=2024-06").get_data(as_text=True)
    assert html.count("badge text-bg-success") == 3 and html.count("badge text-bg-danger") == 27
    assert ">6.5<" in html and "李娜" in html
    html = client.get(f"/stations/{month['s24'].id}/duty?month=2024-06").get_data(as_text=True)
    assert "badge text-bg-danger" not in html and 'badge text-bg-success"' not in html
    html = client.get(f"/staffing/duty?unit={month['city'].id}&month=2024-06").get_data(
        as_text=True
    )
    assert "D1" in html and "D2" in html and ">14.5<" in html and ">45<" in html
    assert ">10%<" in html  # 5 of 50 station-days
    assert client.get(f"/staffing/duty?unit={month['city'].id}&month=June").status_code == 400


def test_roster_pages_and_reach(client, db, world, make_admin, login):
    master = make_admin(world.station_a, "张伟", phone="13800138000")
    add_training(master, "驿站管理员培训", date(2024, 5, 10), "12.5", today=TODAY)
    db.session.commit()

    login(world.viewer_a)
    html = client.get(f"/staffing/?unit={world.a.id}").get_data(as_text=True)
    assert "张伟" in html and "12.5" in html and "13800138000" not in html  # phones: editors only
    html = client.get(f"/staffing/?unit={world.a.id}&show=without-master").get_data(as_text=True)
    assert "Station A2" in html and "SA-1" not in html
    show = client.get(f"/stations/{world.station_a.id}").get_data(as_text=True)
    assert "张伟" in show and "13800138000" not in show
    assert client.post(f"/stations/{world.station_a.id}/admins", data={}).status_code == 404

    client.post("/auth/logout")
    login(world.organiser_a)
    assert "13800138000" in client.get(f"/staffing/?unit={world.a.id}").get_data(as_text=True)
    assert "13800138000" in client.get(f"/stations/{world.station_a.id}").get_data(as_text=True)
    assert client.get(f"/staffing/admins/{master.id}").status_code == 200

    client.post("/auth/logout")
    login(world.organiser_b)
    for url in (
        f"/staffing/?unit={world.a.id}",
        f"/stations/{world.station_a.id}/admins",
        f"/staffing/admins/{master.id}",
        f"/stations/{world.station_a.id}/duty",
        f"/stations/{world.station_a.id}/duty-qr.png",
        f"/staffing/duty?unit={world.a.id}",
    ):
        assert client.get(url).status_code == 404, url


def test_appointing_from_the_page(client, db, world, login):
    login(world.organiser_a)
    url = f"/stations/{world.station_a.id}/admins"
    form = {"name": "张伟", "phone": "0871-1234567", "role": "master", "since": "2024-01-01"}
    response = client.post(url, data=form | {"username": "zhangwei"})
    assert response.status_code == 302
    master = db.session.scalar(select(StationAdmin))
    assert master.user_id == world.runner.id

    before = counts(db)
    for bad, says in (
        ({"phone": "call me"}, "is not a telephone number"),
        ({"name": "王芳", "username": "nobody"}, "nobody"),
        ({"name": "王芳"}, "张伟"),  # a second master, not replacing
        ({"name": "王芳", "since": (local_today() + timedelta(days=2)).isoformat()}, "future"),
    ):
        response = client.post(url, data=form | bad, headers={"Accept-Language": "en"})
        assert response.status_code == 200 and says in response.get_data(as_text=True), bad
        assert counts(db) == before

    response = client.post(url, data=form | {"name": "王芳", "since": "2024-05-01", "replace": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert master.until == date(2024, 4, 30)


def test_training_and_ending_from_the_pages(client, db, world, make_admin, login):
    admin = make_admin(world.station_a, "张伟")
    login(world.organiser_a)
    url = f"/staffing/admins/{admin.id}"
    future = (local_today() + timedelta(days=2)).isoformat()
    before = counts(db)
    for bad in ({"taken_on": future}, {"hours": "0"}, {"hours": "500"}):
        data = {"course": "急救", "taken_on": "2024-05-10", "hours": "4"} | bad
        assert client.post(url, data=data).status_code == 200
        assert counts(db) == before
    assert (
        client.post(
            url, data={"course": "急救", "taken_on": "2024-05-10", "hours": "4"}
        ).status_code
        == 302
    )
    assert db.session.scalar(select(Training.hours)) == Decimal("4.0")

    response = client.post(f"{url}/end", data={"until": future})
    assert response.status_code == 302 and db.session.get(StationAdmin, admin.id).until is None
    client.post(f"{url}/end", data={"until": local_today().isoformat()})
    db.session.expire_all()
    assert db.session.get(StationAdmin, admin.id).until == local_today()
    past = client.get(f"/staffing/?unit={world.a.id}&show=past").get_data(as_text=True)
    assert "张伟" in past
    current = client.get(f"/staffing/?unit={world.a.id}").get_data(as_text=True)
    assert "张伟" not in current
    html = client.get(f"/stations/{world.station_a.id}/admins").get_data(as_text=True)
    assert "张伟" in html.split('id="past-title"')[1]
    assert "急救" in client.get(url).get_data(as_text=True)


def test_the_duty_phone_page(client, db, world, make_admin, login):
    make_admin(world.station_a, "张伟", user=world.runner)
    login(world.runner)
    html = client.get("/duty").get_data(as_text=True)
    assert "Station A" in html and 'value="on"' in html

    # Sign on, then a double tap: one shift.
    for _tap in range(2):
        response = client.post("/duty", data={"station": world.station_a.id, "action": "on"})
        assert response.status_code == 302 and response.headers["Location"].endswith("/duty")
    (shift,) = db.session.scalars(select(DutyShift))
    assert shift.is_open
    html = client.get("/duty").get_data(as_text=True)
    assert 'value="off"' in html and f'name="shift" value="{shift.id}"' in html

    # Another station's id is not the user's to sign on at.
    client.post("/duty", data={"station": world.station_b.id, "action": "on"})
    assert db.session.scalar(select(func.count()).select_from(DutyShift)) == 1

    # Through the station's QR page: sign off, and a second tap writes nothing.
    page = f"/duty/station/{world.station_a.code}"
    for _tap in range(2):
        response = client.post(page, data={"station": world.station_a.id, "action": "off",
                                           "shift": shift.id})  # fmt: skip
        assert response.status_code == 302 and response.headers["Location"].endswith(page)
    db.session.expire_all()
    ended = db.session.get(DutyShift, shift.id).ended_at
    assert ended is not None
    client.post(page, data={"station": world.station_a.id, "action": "off", "shift": shift.id})
    db.session.expire_all()
    assert db.session.get(DutyShift, shift.id).ended_at == ended

    # A station the account does not run: 404, with the way back.
    response = client.get(f"/duty/station/{world.station_b.code}")
    assert response.status_code == 404 and 'href="/duty"' in response.get_data(as_text=True)
    # The shift shows on the administrator's page.
    client.post("/auth/logout")
    login(world.organiser_a)
    html = client.get(f"/staffing/admins/{shift.admin_id}").get_data(as_text=True)
    assert shift.started_at.astimezone(SHANGHAI).strftime("%H:%M") in html


def test_the_duty_qr_page_asks_to_sign_in_first(client, db, world, login):
    page = f"/duty/station/{world.station_a.code}"
    response = client.get(page)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert "next=" in response.headers["Location"]

    login(world.organiser_a)
    png = client.get(f"/stations/{world.station_a.id}/duty-qr.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.data.startswith(b"\x89PNG")
    admins = client.get(f"/stations/{world.station_a.id}/admins").get_data(as_text=True)
    assert f"/stations/{world.station_a.id}/duty-qr.png" in admins


def test_the_roster_page_takes_as_many_queries_for_many_administrators(
    client, db, world, make_station, make_admin, login
):
    login(world.viewer_a)
    url = f"/staffing/?unit={world.a.id}"

    def queries() -> int:
        with count_queries(db.engine) as counted:
            assert client.get(url).status_code == 200
        return counted["n"]

    def add(n: int) -> None:
        for _ in range(n):
            admin = make_admin(make_station(world.a, **OPEN))
            add_training(admin, "岗前培训", date(2024, 5, 10), 2, today=TODAY)
        db.session.commit()

    add(2)
    few = queries()
    add(6)
    assert queries() == few
