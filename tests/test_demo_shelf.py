"""The Kunming demo's goods-sharing shelves: four stations' shelves over the campaign, restocked
by the sponsors and citizens and taken by workers, every stock and limit kept."""

from sqlalchemy import func, select

from inclusive_day.demo.kunming import campaign_figures, load_kunming
from inclusive_day.demo.province_shelf import shelf_stock_is_consistent
from inclusive_day.demo.shelf import FIRST, LAST
from inclusive_day.shelf.models import (
    GiverKind,
    Shelf,
    ShelfGift,
    ShelfItem,
    ShelfPersonDay,
    ShelfTaking,
)
from inclusive_day.shelf.queries import shelf_rollup
from inclusive_day.sponsors.models import Sponsor
from inclusive_day.units.models import Unit


def test_the_demo_runs_four_shelves_over_the_campaign(db):
    lines = []
    result = load_kunming(echo=lines.append)
    db.session.commit()
    # The rest of the demo draws what it always drew.
    figures = campaign_figures(result.campaign_id)
    assert (figures.activities, figures.served) == (256, 76_800)
    shelves = db.session.scalars(select(Shelf).order_by(Shelf.id)).all()
    assert len(shelves) == 4 and all(s.is_open for s in shelves)
    assert [s.per_person_day for s in shelves] == [2, None, 3, None]
    names = set(db.session.scalars(select(ShelfItem.name)))
    assert names == {"矿泉水", "雨衣", "毛巾", "防晒袖套", "图书"}
    assert db.session.scalar(select(func.count()).where(ShelfItem.points.is_not(None))) > 0
    # Stock is what was given less what was taken, never below 0; no one passed a limit.
    assert shelf_stock_is_consistent()
    assert db.session.scalar(select(func.min(ShelfItem.stock))) >= 0
    over = db.session.scalar(
        select(func.count())
        .select_from(ShelfPersonDay)
        .join(Shelf, Shelf.station_id == ShelfPersonDay.station_id)
        .where(ShelfPersonDay.taken > Shelf.per_person_day)
    )
    assert over == 0
    # Shilin Tianwaitian's mineral water, and citizens' gifts; takings by several groups.
    water_giver = db.session.scalars(
        select(Sponsor.name)
        .join(ShelfGift, ShelfGift.sponsor_id == Sponsor.id)
        .join(ShelfItem, ShelfItem.id == ShelfGift.item_id)
        .where(ShelfItem.name == "矿泉水")
        .distinct()
    ).all()
    assert any("天外天" in name for name in water_giver)
    kinds = set(db.session.scalars(select(ShelfGift.giver).distinct()))
    assert {GiverKind.SPONSOR, GiverKind.CITIZEN} <= kinds
    assert len(set(db.session.scalars(select(ShelfTaking.group).distinct()))) >= 4
    first_day, last_day = db.session.execute(
        select(func.min(ShelfTaking.taken_on), func.max(ShelfTaking.taken_on))
    ).one()
    assert first_day >= FIRST and last_day <= LAST
    # No phone number is kept: identities only, where a shelf limits per person.
    limited = db.session.scalar(
        select(func.count(ShelfTaking.id)).where(ShelfTaking.identity.is_not(None))
    )
    assert limited > 0
    assert not db.session.scalar(
        select(func.count(ShelfTaking.id)).where(ShelfTaking.identity.like("1990871%"))
    )
    # The city's rollup counts every demo putting and taking, and the line says so.
    city = db.session.scalar(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id))
    rollup = shelf_rollup(city, FIRST, LAST)
    assert rollup.total.takings == db.session.scalar(select(func.count(ShelfTaking.id)))
    assert rollup.open_shelves == 4
    assert any(
        line.startswith("Opened 4 goods-sharing shelves")
        and f"{rollup.total.taken:,} taken in {rollup.total.takings:,} takings" in line
        for line in lines
    )
