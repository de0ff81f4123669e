"""Volunteer teams, members and sessions: the rules a session keeps, one session of two
overlapping logs sent at once, confirming (which earns points) and rejecting, the pages and
the certificate of service hours."""

import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from inclusive_day.api.models import TokenScope
from inclusive_day.api.tokens import issue_token
from inclusive_day.attendance.identity import person_for
from inclusive_day.attendance.models import BeneficiaryGroup, Headcount
from inclusive_day.auth.models import Role
from inclusive_day.extensions import db as _db
from inclusive_day.points.earning import set_rule
from inclusive_day.points.ledger import account_for
from inclusive_day.points.models import EarnRule
from inclusive_day.reports.recap import RecapScope, build_recap
from inclusive_day.sponsors.models import SponsorKind
from inclusive_day.stations.models import Station
from inclusive_day.volunteers.models import SessionStatus, Volunteer, VolunteerSession
from inclusive_day.volunteers.queries import VolunteerHours, hours_under, service
from inclusive_day.volunteers.services import (
    MemberFields,
    Refusal,
    SessionFields,
    TeamFields,
    VolunteerError,
    confirm_session,
    edit_session,
    log_session,
    may_decide,
    reject_session,
    save_member,
    save_team,
)
from tests.conftest import at_once

NOW = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
START = datetime(2024, 2, 20, 1, 0, tzinfo=UTC)


def _member(team) -> Volunteer:
    return _db.session.scalars(select(Volunteer).where(Volunteer.team_id == team.id)).first()


def _fields(station, start=START, hours=2, **kw) -> SessionFields:
    kw.setdefault("skill", "haircut")
    return SessionFields(
        station=station, starts_at=start, ends_at=start + timedelta(hours=hours), **kw
    )


def _sessions() -> int:
    return _db.session.scalar(select(func.count(VolunteerSession.id)))


# ---- teams and members ----------------------------------------------------------------------


def test_a_team_links_a_volunteer_team_sponsor_but_not_an_enterprise(db, make_unit, make_sponsor):
    unit = make_unit()
    barbers = make_sponsor(unit, "义剪队", kind=SponsorKind.VOLUNTEER_TEAM)
    team = save_team(None, unit, TeamFields(name="义剪志愿服务队", sponsor=barbers))
    db.session.commit()
    assert team.sponsor_id == barbers.id
    with pytest.raises(VolunteerError) as refused:
        save_team(None, unit, TeamFields(name="另一队", sponsor=make_sponsor(unit)))
    assert refused.value.code is Refusal.BAD_SPONSOR
    with pytest.raises(VolunteerError) as refused:
        save_team(None, unit, TeamFields(name="义剪志愿服务队"))
    assert refused.value.code is Refusal.NAME_TAKEN


def test_a_members_mobile_is_kept_as_its_identity_never_the_number(db, make_team):
    team = make_team()
    member = save_member(
        team,
        None,
        MemberFields(name="李师傅", skills=("haircut",), mobile="139 0000 0001", contact="wx_li"),
    )
    db.session.commit()
    assert member.identity == person_for("13900000001").identity
    assert member.person_key == person_for("13900000001").key
    assert "13900000001" not in (member.contact, member.skills, member.name)
    assert member.skill_list[0].value == "haircut"
    with pytest.raises(VolunteerError) as refused:
        save_member(team, None, MemberFields(name="李师傅"))  # the same form sent twice
    assert refused.value.code is Refusal.ALREADY_MEMBER
    with pytest.raises(VolunteerError) as refused:
        save_member(team, None, MemberFields(name="王", mobile="12345"))
    assert refused.value.code is Refusal.BAD_PHONE
    with pytest.raises(VolunteerError) as refused:
        save_member(team, None, MemberFields(name="x" * 61))
    assert refused.value.code is Refusal.BAD_NAME


# ---- logging sessions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, code",
    [
        ({"hours": 0}, Refusal.BAD_TIMES),
        ({"hours": -1}, Refusal.BAD_TIMES),
        ({"hours": 16.5}, Refusal.TOO_LONG),
        ({"start": NOW + timedelta(minutes=1)}, Refusal.IN_FUTURE),
        ({"skill": "juggling"}, Refusal.BAD_SKILL),
        ({"served": -1}, Refusal.BAD_SERVED),
    ],
)
def test_a_session_that_breaks_a_rule_is_refused_and_writes_nothing(
    db, make_team, make_station, change, code
):
    volunteer = _member(make_team(members=("张三",)))
    with pytest.raises(VolunteerError) as refused:
        log_session(volunteer, _fields(make_station(), **change), None, now=NOW)
    db.session.commit()
    assert refused.value.code is code
    assert _sessions() == 0


def test_sixteen_hours_is_the_longest_session(db, make_team, make_station):
    volunteer = _member(make_team(members=("张三",)))
    session = log_session(volunteer, _fields(make_station(), hours=16), None, now=NOW)
    assert session.minutes == 16 * 60


def test_an_activity_at_another_station_is_refused(db, make_team, make_station, make_activity):
    volunteer = _member(make_team(members=("张三",)))
    elsewhere = make_activity(station=make_station())
    with pytest.raises(VolunteerError) as refused:
        log_session(volunteer, _fields(make_station(), activity=elsewhere), None, now=NOW)
    assert refused.value.code is Refusal.WRONG_STATION
    assert _sessions() == 0


def test_overlapping_sessions_of_one_volunteer_are_refused_until_one_is_rejected(
    db, make_team, make_station, make_user
):
    station = make_station()
    volunteer = _member(make_team(members=("张三",)))
    first = log_session(volunteer, _fields(station), None, now=NOW)
    with pytest.raises(VolunteerError) as refused:
        log_session(volunteer, _fields(station, START + timedelta(hours=1)), None, now=NOW)
    assert refused.value.code is Refusal.OVERLAP
    # Back to back is no overlap.
    log_session(volunteer, _fields(station, START + timedelta(hours=2)), None, now=NOW)
    reject_session(first, make_user(Role.ADMIN), "重复登记")
    log_session(volunteer, _fields(station, START + timedelta(hours=-1)), None, now=NOW)
    db.session.commit()
    assert _sessions() == 3


def test_two_overlapping_logs_sent_at_once_leave_one(app, db, make_team, make_station):
    station_id = make_station().id
    volunteer_id = _member(make_team(members=("张三",))).id

    def work(i):
        volunteer = _db.session.get(Volunteer, volunteer_id)
        station = _db.session.get(Station, station_id)
        start = START + timedelta(minutes=30 * i)
        return log_session(volunteer, _fields(station, start), None, now=NOW).id

    outcomes = at_once(app, 2, work)
    db.session.expire_all()
    assert outcomes.count(Refusal.OVERLAP) == 1
    assert _sessions() == 1


# ---- confirming -----------------------------------------------------------------------------


def test_confirming_counts_the_hours_and_awards_points_once(
    db, make_unit, make_team, make_station, make_user
):
    city = make_unit("市总工会")
    station = make_station(make_unit("区总工会", city))
    team = make_team(city)
    volunteer = save_member(team, None, MemberFields(name="李师傅", mobile="13900000002"))
    set_rule(city, EarnRule.VOLUNTEER_HOUR, 10)
    session = log_session(volunteer, _fields(station, hours=1.5), None, now=NOW)
    db.session.commit()
    manager = make_user(Role.STATION_MANAGER, station)
    assert may_decide(manager, session)
    assert not may_decide(make_user(Role.STATION_MANAGER, make_station()), session)
    entry = confirm_session(session, manager)
    db.session.commit()
    assert entry.delta == 15
    assert account_for(person_for("13900000002")).balance == 15
    with pytest.raises(VolunteerError) as refused:
        confirm_session(session, manager)
    assert refused.value.code is Refusal.ALREADY_DECIDED
    with pytest.raises(VolunteerError) as refused:
        edit_session(session, _fields(station), now=NOW)
    assert refused.value.code is Refusal.CONFIRMED
    assert hours_under(city.path, START, NOW).minutes == 90
    assert hours_under(city.path, NOW, NOW + timedelta(days=1)).minutes == 0


def test_a_rejection_says_why_and_its_hours_do_not_count(db, make_team, make_station, make_user):
    station = make_station()
    team = make_team(members=("张三",))
    session = log_session(_member(team), _fields(station), None, now=NOW)
    with pytest.raises(VolunteerError) as refused:
        reject_session(session, make_user(Role.ADMIN), "  ")
    assert refused.value.code is Refusal.BAD_REASON
    reject_session(session, make_user(Role.ADMIN), "那天驿站没有开门")
    db.session.commit()
    assert (session.status, session.rejected_reason) == (SessionStatus.REJECTED, "那天驿站没有开门")
    assert service(VolunteerSession.team_id == team.id).minutes == 0
    # Corrected, it goes back for confirmation.
    edit_session(session, _fields(station, START + timedelta(days=1)), now=NOW)
    assert (session.status, session.rejected_reason) == (SessionStatus.LOGGED, "")


def test_people_served_add_typed_counts_and_each_activity_once(
    db, make_team, make_station, make_activity, make_user
):
    station = make_station()
    activity = make_activity(station=station, starts_at=START)
    db.session.add(Headcount(activity_id=activity.id, group=BeneficiaryGroup.COURIER, count=40))
    team = make_team(members=("张三", "李四"))
    admin = make_user(Role.ADMIN)
    for v in _db.session.scalars(select(Volunteer).where(Volunteer.team_id == team.id)):
        confirm_session(log_session(v, _fields(station, activity=activity), None, now=NOW), admin)
    outside = log_session(
        _member(team), _fields(station, START + timedelta(days=2), served=12), None, now=NOW
    )
    confirm_session(outside, admin)
    db.session.commit()
    served = service(VolunteerSession.team_id == team.id)
    assert served.served == 52  # the activity's 40 once, though two served at it, plus 12
    assert (served.sessions, served.minutes) == (3, 360)


# ---- pages ----------------------------------------------------------------------------------


def test_an_organiser_adds_a_member_and_logs_a_session_the_manager_confirms(
    client, login, db, make_unit, make_team, make_station, make_user
):
    unit = make_unit()
    station = make_station(unit)
    team = make_team(unit)
    login(make_user(Role.ORGANISER, unit))
    response = client.post(
        f"/volunteers/teams/{team.id}/members/new",
        data={"name": "王师傅", "skills": ["haircut"], "contact": "wx_wang"},
    )
    assert response.status_code == 302
    volunteer = _member(team)
    form = {
        "volunteer": volunteer.id,
        "station": station.id,
        "activity": 0,
        "skill": "haircut",
        "day": "2024-02-20",
        "starts": "09:00",
        "ends": "08:00",
    }
    refused = client.post(f"/volunteers/teams/{team.id}/sessions/new", data=form)
    assert refused.status_code == 422
    assert "end after it starts" in refused.get_data(as_text=True)
    form["ends"] = "11:30"
    assert client.post(f"/volunteers/teams/{team.id}/sessions/new", data=form).status_code == 302
    assert client.post(f"/volunteers/teams/{team.id}/sessions/new", data=form).status_code == 422
    assert _sessions() == 1
    client.post("/auth/logout")
    login(make_user(Role.STATION_MANAGER, station))
    # The station's page leads its manager to the sessions to confirm and to its points.
    station_page = client.get(f"/stations/{station.id}").get_data(as_text=True)
    assert f"/volunteers/stations/{station.id}/sessions" in station_page
    assert "1 to confirm" in station_page and f"/stations/{station.id}/points" in station_page
    page = client.get(f"/volunteers/stations/{station.id}/sessions").get_data(as_text=True)
    assert "王师傅" in page and "wx_wang" not in page
    session = _db.session.scalars(select(VolunteerSession)).one()
    response = client.post(f"/volunteers/sessions/{session.id}/decide", data={"confirm": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    assert _db.session.get(VolunteerSession, session.id).status is SessionStatus.CONFIRMED
    team_page = client.get(f"/volunteers/teams/{team.id}").get_data(as_text=True)
    assert "2.5" in team_page and "wx_wang" not in team_page


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext is not installed")
def test_the_certificate_names_the_volunteer_and_counts_confirmed_hours_only(
    client, login, db, make_unit, make_team, make_station, make_user, tmp_path
):
    unit = make_unit("盘龙区总工会", code="PL")
    station = make_station(unit)
    team = make_team(unit, "财贸爱心服务站义剪志愿服务队", members=("赵师傅",))
    volunteer = _member(team)
    admin = make_user(Role.ADMIN)
    confirm_session(log_session(volunteer, _fields(station, hours=3), None, now=NOW), admin)
    log_session(volunteer, _fields(station, START + timedelta(days=1)), None, now=NOW)
    db.session.commit()
    login(make_user(Role.VIEWER, unit))
    response = client.get(f"/volunteers/members/{volunteer.id}/certificate.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    path = tmp_path / "certificate.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "赵师傅" in text and "志愿服务时长证明" in text
    assert "Certificate of Volunteer Service Hours" in text
    assert re.search(rf"PL-V-20\d\d-{volunteer.id:05d}", text)
    assert "3.0" in text  # the unconfirmed session's 2 hours do not count
    assert "5.0" not in text


# ---- the recap and the API ------------------------------------------------------------------


def test_the_recap_its_pdf_data_and_the_api_count_confirmed_hours_under_the_unit(
    client, db, make_unit, make_team, make_station, make_campaign, make_user
):
    city = make_unit("市总工会")
    district = make_unit("区总工会", city)
    other = make_unit("别区总工会", city)
    campaign = make_campaign(city, starts_on=date(2024, 1, 1), ends_on=date(2024, 2, 29))
    team = make_team(city, members=("张三", "李四"))
    admin = make_user(Role.ADMIN)
    here, there = make_station(district), make_station(other)
    members = list(_db.session.scalars(select(Volunteer).where(Volunteer.team_id == team.id)))
    confirm_session(log_session(members[0], _fields(here, hours=2), None, now=NOW), admin)
    confirm_session(log_session(members[1], _fields(here, hours=1), None, now=NOW), admin)
    confirm_session(
        log_session(members[0], _fields(there, START + timedelta(days=1)), None, now=NOW), admin
    )
    log_session(members[1], _fields(here, START + timedelta(days=2)), None, now=NOW)  # unconfirmed
    # Before the period: not counted.
    confirm_session(
        log_session(
            members[1], _fields(here, datetime(2023, 12, 31, 1, tzinfo=UTC)), None, now=NOW
        ),
        admin,
    )
    db.session.commit()
    recap = build_recap(RecapScope(campaign.id, district.id, date(2024, 1, 1), date(2024, 2, 29)))
    assert recap.volunteers == VolunteerHours(minutes=180, sessions=2, volunteers=2, teams=1)
    whole = build_recap(RecapScope(campaign.id, city.id, date(2024, 1, 1), date(2024, 2, 29)))
    assert (whole.volunteers.hours, whole.volunteers.sessions) == (5.0, 3)
    _token, raw = issue_token(make_user(Role.ORGANISER, city), "test", TokenScope.READ)
    db.session.commit()
    answer = client.get(
        f"/api/v1/reports/summary?campaign={campaign.id}&unit={district.id}",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["volunteers"] == {
        "hours": 3.0,
        "minutes": 180,
        "sessions": 2,
        "volunteers": 2,
        "teams": 1,
    }


def test_contacts_show_to_the_teams_keepers_only(
    client, login, db, make_unit, make_team, make_user
):
    unit = make_unit()
    team = make_team(unit, leader_name="队长", leader_phone="0871-6666666")
    save_member(team, None, MemberFields(name="王师傅", contact="wx_wang", mobile="13900000004"))
    db.session.commit()
    volunteer = _member(team)
    login(make_user(Role.VIEWER, unit))
    for url in (f"/volunteers/teams/{team.id}", f"/volunteers/members/{volunteer.id}"):
        page = client.get(url).get_data(as_text=True)
        assert "王师傅" in page
        assert "wx_wang" not in page and "0871-6666666" not in page and "13900000004" not in page
    client.post("/auth/logout")
    login(make_user(Role.ORGANISER, unit))
    assert "0871-6666666" in client.get(f"/volunteers/teams/{team.id}").get_data(as_text=True)
    member_page = client.get(f"/volunteers/members/{volunteer.id}").get_data(as_text=True)
    assert "wx_wang" in member_page and "13900000004" not in member_page


def test_a_team_form_sent_twice_makes_one_team(client, login, db, make_unit, make_user):
    unit = make_unit()
    login(make_user(Role.ORGANISER, unit))
    form = {"name": "义剪队", "unit": unit.id, "sponsor": 0, "partner": 0}
    assert client.post("/volunteers/teams/new", data=form).status_code == 302
    again = client.post("/volunteers/teams/new", data=form)
    assert again.status_code == 422
    assert "already keeps a team of this name" in again.get_data(as_text=True)
    assert client.get("/volunteers/").get_data(as_text=True).count("义剪队") == 1


def test_a_rejected_session_says_why_where_the_team_sees_it(
    client, login, db, make_unit, make_team, make_station, make_user
):
    unit = make_unit()
    station = make_station(unit)
    team = make_team(unit, members=("张三",))
    session = log_session(_member(team), _fields(station), None, now=NOW)
    db.session.commit()
    login(make_user(Role.STATION_MANAGER, station))
    response = client.post(
        f"/volunteers/sessions/{session.id}/decide", data={"reject": "1", "reason": "时间不对"}
    )
    assert response.status_code == 302
    client.post("/auth/logout")
    login(make_user(Role.ORGANISER, unit))
    assert "时间不对" in client.get(f"/volunteers/teams/{team.id}").get_data(as_text=True)
    assert "时间不对" in client.get(f"/volunteers/sessions/{session.id}/edit").get_data(
        as_text=True
    )
