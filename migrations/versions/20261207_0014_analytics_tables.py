"""analytics tables: door visits per station and day, check-ins per activity, people bitmaps

Counters kept by triggers in the writing transaction (traffic_days, checkin_tallies), a
queue of changed raw rows the same triggers fill (analytics_changes) for the refresh that
keeps the people bitmaps (people_bitmaps, numbered by analytics_people). Door visits get
the person key check-ins have, so both kinds of people are counted alike. The tables are
filled from today's raw rows here; the bitmaps by the first refresh.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 19:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

GROUPS = ('courier', 'rider', 'sanitation', 'driver', 'police', 'construction', 'elderly', 'other')

POSTGRESQL_TRIGGERS = [
    """
    CREATE FUNCTION analytics_visit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE traffic_days SET visits = visits - 1
         WHERE station_id = OLD.station_id AND day = OLD.visit_day AND "group" = OLD."group";
        INSERT INTO analytics_changes (station_id, day, source)
        VALUES (OLD.station_id, OLD.visit_day, 'v');
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO traffic_days (station_id, day, "group", visits)
        VALUES (NEW.station_id, NEW.visit_day, NEW."group", 1)
        ON CONFLICT (station_id, day, "group") DO UPDATE SET visits = traffic_days.visits + 1;
        INSERT INTO analytics_changes (station_id, day, source)
        VALUES (NEW.station_id, NEW.visit_day, 'v');
      END IF;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER station_visits_analytics
    AFTER INSERT OR DELETE OR UPDATE OF station_id, visit_day, "group", person_key
    ON station_visits FOR EACH ROW EXECUTE FUNCTION analytics_visit()
    """,
    """
    CREATE FUNCTION analytics_checkin() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('UPDATE', 'DELETE') THEN
        IF OLD.annulled_at IS NULL THEN
          UPDATE checkin_tallies SET checkins = checkins - 1
           WHERE activity_id = OLD.activity_id AND "group" = OLD."group";
        END IF;
        INSERT INTO analytics_changes (activity_id, source) VALUES (OLD.activity_id, 'c');
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF NEW.annulled_at IS NULL THEN
          INSERT INTO checkin_tallies (activity_id, "group", checkins)
          VALUES (NEW.activity_id, NEW."group", 1)
          ON CONFLICT (activity_id, "group")
          DO UPDATE SET checkins = checkin_tallies.checkins + 1;
        END IF;
        IF TG_OP = 'INSERT' OR NEW.activity_id <> OLD.activity_id THEN
          INSERT INTO analytics_changes (activity_id, source) VALUES (NEW.activity_id, 'c');
        END IF;
      END IF;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER checkins_analytics
    AFTER INSERT OR DELETE OR UPDATE OF activity_id, "group", person_key, annulled_at
    ON checkins FOR EACH ROW EXECUTE FUNCTION analytics_checkin()
    """,
]

_VISIT_IN = """
    INSERT INTO traffic_days (station_id, day, "group", visits)
    VALUES (NEW.station_id, NEW.visit_day, NEW."group", 1)
    ON CONFLICT (station_id, day, "group") DO UPDATE SET visits = visits + 1;
    INSERT INTO analytics_changes (station_id, day, source)
    VALUES (NEW.station_id, NEW.visit_day, 'v');
"""
_VISIT_OUT = """
    UPDATE traffic_days SET visits = visits - 1
     WHERE station_id = OLD.station_id AND day = OLD.visit_day AND "group" = OLD."group";
    INSERT INTO analytics_changes (station_id, day, source)
    VALUES (OLD.station_id, OLD.visit_day, 'v');
"""
_CHECKIN_IN = """
    INSERT INTO checkin_tallies (activity_id, "group", checkins)
    SELECT NEW.activity_id, NEW."group", 1 WHERE NEW.annulled_at IS NULL
    ON CONFLICT (activity_id, "group") DO UPDATE SET checkins = checkins + 1;
    INSERT INTO analytics_changes (activity_id, source) VALUES (NEW.activity_id, 'c');
"""
_CHECKIN_OUT = """
    UPDATE checkin_tallies SET checkins = checkins - 1
     WHERE OLD.annulled_at IS NULL AND activity_id = OLD.activity_id AND "group" = OLD."group";
    INSERT INTO analytics_changes (activity_id, source) VALUES (OLD.activity_id, 'c');
"""


def _sqlite_trigger(name, event, table, body):
    return f'CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {body} END'


SQLITE_TRIGGERS = [
    _sqlite_trigger('station_visits_analytics_in', 'INSERT', 'station_visits', _VISIT_IN),
    _sqlite_trigger('station_visits_analytics_out', 'DELETE', 'station_visits', _VISIT_OUT),
    _sqlite_trigger('station_visits_analytics_change',
                    'UPDATE OF station_id, visit_day, "group", person_key', 'station_visits',
                    _VISIT_OUT + _VISIT_IN),
    _sqlite_trigger('checkins_analytics_in', 'INSERT', 'checkins', _CHECKIN_IN),
    _sqlite_trigger('checkins_analytics_out', 'DELETE', 'checkins', _CHECKIN_OUT),
    _sqlite_trigger('checkins_analytics_change',
                    'UPDATE OF activity_id, "group", person_key, annulled_at', 'checkins',
                    _CHECKIN_OUT + _CHECKIN_IN),
]
SQLITE_TRIGGER_NAMES = [
    'station_visits_analytics_in', 'station_visits_analytics_out',
    'station_visits_analytics_change', 'checkins_analytics_in', 'checkins_analytics_out',
    'checkins_analytics_change',
]


def _group():
    return sa.Enum(*GROUPS, name='beneficiarygroup', native_enum=False, create_constraint=True,
                   length=20)


def _backfill_person_keys(bind):
    if bind.dialect.name == 'postgresql':
        op.execute("UPDATE station_visits SET person_key = "
                   "('x' || substr(identity, 1, 16))::bit(64)::bigint")
        return
    rows = bind.execute(sa.text("SELECT id, identity FROM station_visits")).all()
    keys = []
    for row_id, identity in rows:
        value = int(identity[:16], 16)
        keys.append({'id': row_id, 'k': value - (1 << 64) if value >= 1 << 63 else value})
    if keys:
        bind.execute(sa.text("UPDATE station_visits SET person_key = :k WHERE id = :id"), keys)


def upgrade():
    bind = op.get_bind()
    with op.batch_alter_table('station_visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_key', sa.BigInteger(), nullable=True))
    _backfill_person_keys(bind)
    with op.batch_alter_table('station_visits', schema=None) as batch_op:
        batch_op.alter_column('person_key', existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_index('ix_station_visits_day_station')
        batch_op.create_index('ix_station_visits_day_station',
                              ['visit_day', 'station_id', 'group', 'person_key'], unique=False)

    op.create_table(
        'traffic_days',
        sa.Column('station_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('group', _group(), nullable=False),
        sa.Column('visits', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['station_id'], ['stations.id'],
                                name=op.f('fk_traffic_days_station_id_stations'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('station_id', 'day', 'group', name=op.f('pk_traffic_days')),
    )
    op.create_index('ix_traffic_days_day_station', 'traffic_days',
                    ['day', 'station_id', 'group', 'visits'], unique=False)
    op.create_table(
        'checkin_tallies',
        sa.Column('activity_id', sa.Integer(), nullable=False),
        sa.Column('group', _group(), nullable=False),
        sa.Column('checkins', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['activity_id'], ['activities.id'],
                                name=op.f('fk_checkin_tallies_activity_id_activities'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('activity_id', 'group', name=op.f('pk_checkin_tallies')),
    )
    op.create_table(
        'analytics_people',
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('key', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('number', name=op.f('pk_analytics_people')),
        sa.UniqueConstraint('key', name=op.f('uq_analytics_people_key')),
    )
    op.create_table(
        'people_bitmaps',
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('visitors', 'served', name='peoplekind', native_enum=False,
                                  create_constraint=True, length=20), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('own', sa.LargeBinary(), nullable=False),
        sa.Column('subtree', sa.LargeBinary(), nullable=False),
        sa.Column('people', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'],
                                name=op.f('fk_people_bitmaps_unit_id_units'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('unit_id', 'kind', 'campaign_id', 'month',
                                name=op.f('pk_people_bitmaps')),
    )
    op.create_table(
        'analytics_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('station_id', sa.Integer(), nullable=True),
        sa.Column('day', sa.Date(), nullable=True),
        sa.Column('activity_id', sa.Integer(), nullable=True),
        sa.Column('source', sa.String(length=1), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_changes')),
    )
    op.create_index('ix_analytics_changes_station', 'analytics_changes', ['station_id', 'day'])
    op.create_index('ix_analytics_changes_activity', 'analytics_changes', ['activity_id'])

    # Today's raw rows, counted once; the refresh makes their bitmaps from the queue.
    op.execute('INSERT INTO traffic_days (station_id, day, "group", visits) '
               'SELECT station_id, visit_day, "group", count(*) FROM station_visits '
               'GROUP BY station_id, visit_day, "group"')
    op.execute('INSERT INTO checkin_tallies (activity_id, "group", checkins) '
               'SELECT activity_id, "group", count(*) FROM checkins WHERE annulled_at IS NULL '
               'GROUP BY activity_id, "group"')
    op.execute("INSERT INTO analytics_changes (station_id, day, source) "
               "SELECT DISTINCT station_id, visit_day, 'v' FROM station_visits")
    op.execute("INSERT INTO analytics_changes (activity_id, source) "
               "SELECT DISTINCT activity_id, 'c' FROM checkins")

    for statement in (POSTGRESQL_TRIGGERS if bind.dialect.name == 'postgresql'
                      else SQLITE_TRIGGERS):
        op.execute(statement)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute('DROP TRIGGER checkins_analytics ON checkins')
        op.execute('DROP TRIGGER station_visits_analytics ON station_visits')
        op.execute('DROP FUNCTION analytics_checkin()')
        op.execute('DROP FUNCTION analytics_visit()')
    else:
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f'DROP TRIGGER {name}')
    op.drop_index('ix_analytics_changes_activity', table_name='analytics_changes')
    op.drop_index('ix_analytics_changes_station', table_name='analytics_changes')
    op.drop_table('analytics_changes')
    op.drop_table('people_bitmaps')
    op.drop_table('analytics_people')
    op.drop_table('checkin_tallies')
    op.drop_index('ix_traffic_days_day_station', table_name='traffic_days')
    op.drop_table('traffic_days')
    with op.batch_alter_table('station_visits', schema=None) as batch_op:
        batch_op.drop_index('ix_station_visits_day_station')
        batch_op.create_index('ix_station_visits_day_station',
                              ['visit_day', 'station_id', 'group', 'identity'], unique=False)
        batch_op.drop_column('person_key')
