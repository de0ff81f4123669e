"""The Kunming demo's volunteers: the haircut team, its members and their confirmed hours,
which earned points; the demo's own figures stay as they were."""

from sqlalchemy import func, select

from inclusive_day.attendance.identity import person_for
from inclusive_day.campaigns.models import Campaign
from inclusive_day.demo.kunming import campaign_figures, load_kunming
from inclusive_day.demo.volunteers import MEMBERS, POINTS_PER_HOUR
from inclusive_day.points.ledger import account_for
from inclusive_day.points.models import EntryReason, PointEntry
from inclusive_day.reports.recap import RecapScope, build_recap, default_period
from inclusive_day.volunteers.models import (
    SessionStatus,
    Volunteer,
    VolunteerSession,
    VolunteerTeam,
)
from inclusive_day.volunteers.queries import service


def test_the_haircut_team_serves_the_haircut_activities_and_earns_points(db):
    result = load_kunming(echo=lambda _: None)
    db.session.commit()
    figures = campaign_figures(result.campaign_id)
    assert (figures.activities, figures.served) == (256, 76_800)
    team = db.session.scalars(select(VolunteerTeam)).one()
    assert team.name == "财贸爱心服务站义剪志愿服务队"
    assert team.sponsor is not None and team.sponsor.name == team.name
    assert team.unit_id == team.sponsor.unit_id  # 盘龙区 (PL)
    members = list(db.session.scalars(select(Volunteer).where(Volunteer.team_id == team.id)))
    assert len(members) == len(MEMBERS) == 8
    assert sum(1 for m in members if m.identity) == 5
    assert all(m.skills == "haircut" for m in members)
    statuses = dict(
        db.session.execute(
            select(VolunteerSession.status, func.count()).group_by(VolunteerSession.status)
        ).all()
    )
    assert statuses[SessionStatus.LOGGED] == 4
    assert statuses[SessionStatus.CONFIRMED] >= 20
    with_activity = db.session.scalar(
        select(func.count()).where(VolunteerSession.activity_id.is_not(None))
    )
    assert with_activity > 0
    served = service(VolunteerSession.team_id == team.id)
    assert served.minutes > 0 and served.served > 0 and len(served.stations) > 1
    # Confirmed hours earned 10 points a hour for the members who have an identity.
    earned = db.session.scalar(
        select(func.coalesce(func.sum(PointEntry.delta), 0)).where(
            PointEntry.reason == EntryReason.VOLUNTEER_HOURS
        )
    )
    minutes_with_identity = db.session.scalar(
        select(func.sum(VolunteerSession.minutes))
        .join(Volunteer, Volunteer.id == VolunteerSession.volunteer_id)
        .where(VolunteerSession.status == SessionStatus.CONFIRMED, Volunteer.identity.is_not(None))
    )
    assert 0 < earned <= minutes_with_identity * POINTS_PER_HOUR // 60
    assert account_for(person_for(MEMBERS[0][1])).balance > 0
    # The city's recap counts them.
    campaign = db.session.get(Campaign, result.campaign_id)
    recap = build_recap(RecapScope(campaign.id, campaign.unit_id, *default_period(campaign)))
    assert recap.volunteers.teams == 1
    assert recap.volunteers.sessions == statuses[SessionStatus.CONFIRMED]
