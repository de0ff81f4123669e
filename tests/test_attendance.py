"""The counting rules and the check-in identity."""

from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from inclusive_day.activities.models import Activity
from inclusive_day.attendance.identity import (
    InvalidPhone,
    identity_for,
    identity_key,
    normalise_phone,
    person_key,
)
from inclusive_day.attendance.models import BeneficiaryGroup, CheckIn, Headcount
from inclusive_day.attendance.queries import served_by_group, totals, totals_by


def _checkin(activity, phone: str, nonce: str, group=BeneficiaryGroup.RIDER, **kw) -> CheckIn:
    return CheckIn(activity=activity, identity=identity_for(phone), group=group, nonce=nonce, **kw)


@pytest.fixture
def recorded(db, make_activity, make_station):
    """Two activities at one station: headcounts, check-ins, a repeat visitor and an annulment."""
    station = make_station()
    first = make_activity(station)
    second = make_activity(station, first.campaign, starts_at=datetime(2024, 2, 24, 1, tzinfo=UTC))
    db.session.add_all(
        [
            Headcount(activity=first, group=BeneficiaryGroup.SANITATION, count=40),
            Headcount(activity=first, group=BeneficiaryGroup.ELDERLY, count=12),
            Headcount(activity=second, group=BeneficiaryGroup.COURIER, count=30),
            _checkin(first, "138 0000 0001", "n1"),
            _checkin(first, "13800000002", "n2", group=BeneficiaryGroup.POLICE),
            _checkin(second, "+86 138-0000-0001", "n3"),
            _checkin(
                second,
                "13800000003",
                "n4",
                annulled_at=datetime.now(UTC),
                annul_reason="scanned by mistake",
            ),
        ]
    )
    db.session.commit()
    return first, second


def test_served_is_headcounts_plus_standing_checkins(recorded):
    first, second = recorded
    assert totals([Activity.id == first.id]).served == 40 + 12 + 2
    assert totals([Activity.id == second.id]).served == 30 + 1  # the annulled one does not count


def test_unique_people_count_each_identity_once_across_the_scope(recorded):
    first, _ = recorded
    both = totals([Activity.station_id == first.station_id])
    assert both.checkins == 3
    assert both.people == 2  # the same phone, written two ways, at both activities
    assert both.served == 40 + 12 + 30 + 3


def test_grouped_totals_match_the_single_totals(recorded):
    first, second = recorded
    grouped = totals_by(Activity.id, [Activity.station_id == first.station_id])
    for activity in (first, second):
        assert grouped[activity.id] == totals([Activity.id == activity.id])


def test_served_by_group_adds_headcounts_and_checkins(recorded):
    first, _ = recorded
    groups = served_by_group([Activity.id == first.id])
    assert groups[BeneficiaryGroup.SANITATION] == 40
    assert groups[BeneficiaryGroup.RIDER] == 1
    assert groups[BeneficiaryGroup.POLICE] == 1
    assert sum(groups.values()) == totals([Activity.id == first.id]).served


def test_an_empty_scope_counts_zero(db):
    assert totals([Activity.id == -1]).served == 0


def test_the_same_person_cannot_check_in_twice_at_one_activity(db, recorded):
    first, _ = recorded
    db.session.add(_checkin(first, "13800000001", "another-nonce"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_nonce_is_used_once(db, recorded):
    _, second = recorded
    db.session.add(_checkin(second, "13900000009", "n1"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_headcount_cannot_be_negative(db, recorded):
    first, _ = recorded
    db.session.add(Headcount(activity=first, group=BeneficiaryGroup.DRIVER, count=-1))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize(
    "raw", ["13812345678", "138 1234 5678", "138-1234-5678", "+8613812345678", "0086 138 1234 5678"]
)
def test_phone_numbers_normalise_to_eleven_digits(raw):
    assert normalise_phone(raw) == "13812345678"


@pytest.mark.parametrize("raw", ["", "12345", "23812345678", "1381234567x", "138123456789"])
def test_malformed_phone_numbers_are_refused(raw):
    with pytest.raises(InvalidPhone):
        normalise_phone(raw)


def test_identity_is_a_keyed_hash_not_the_number(app):
    identity = identity_for("13812345678")
    assert "13812345678" not in identity and len(identity) == 64
    assert identity == identity_for("+86 138 1234 5678")
    assert identity != identity_for("13812345678", identity_key("another secret"))


def test_identity_secret_keys_identities_apart_from_the_session_secret(app):
    before = identity_for("13812345678")
    app.config["IDENTITY_SECRET"] = "a separate identity secret"
    after = identity_for("13812345678")
    app.config["SECRET_KEY"] = "a rotated session secret, long enough to be real"
    assert after != before
    assert identity_for("13812345678") == after


def test_the_person_key_is_the_identitys_first_64_bits_as_a_signed_bigint():
    assert person_key("0" * 15 + "1" + "f" * 48) == 1
    assert person_key("7fffffffffffffff" + "0" * 48) == 2**63 - 1
    assert person_key("8000000000000000" + "0" * 48) == -(2**63)
    assert person_key("f" * 64) == -1


def test_every_way_in_stores_the_person_key_of_the_identity(db, make_activity):
    """ORM rows, Core inserts and the scan service all derive the key from the identity: the
    unique-people count reads nothing else."""
    from sqlalchemy import insert, select

    from inclusive_day.attendance.models import CheckInSource
    from inclusive_day.attendance.services import check_in

    activity = make_activity(starts_at=datetime.now(UTC))
    db.session.add(_checkin(activity, "13800000001", "orm"))
    db.session.execute(
        insert(CheckIn),
        [
            {
                "activity_id": activity.id,
                "identity": identity_for("13800000002"),
                "group": BeneficiaryGroup.RIDER,
                "nonce": "core",
            },
        ],
    )
    check_in(activity.id, "13800000003", "rider", "scan-0001", CheckInSource.API)
    db.session.flush()
    rows = db.session.execute(select(CheckIn.identity, CheckIn.person_key)).all()
    assert len(rows) == 3
    assert all(key == person_key(identity) for identity, key in rows)
