"""running the stations: administrators, training, duty shifts, worker feedback, notices, Double Top 100

Also an index that lets traffic over a period (door visits by day, station, group and
person) be counted from the index alone.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 13:00:16.173620

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('traffic', name='noticekind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('lang', sa.String(length=5), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_notices_issued_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_notices_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    sa.UniqueConstraint('unit_id', 'kind', 'month', 'lang', name=op.f('uq_notices_unit_id_kind_month_lang'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_unit_id'), ['unit_id'], unique=False)

    op.create_table('top100_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('weights', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_sites', sa.JSON(), nullable=True),
    sa.Column('confirmed_masters', sa.JSON(), nullable=True),
    sa.CheckConstraint('(confirmed_at IS NULL) = (confirmed_sites IS NULL)', name=op.f('ck_top100_lists_confirmed_has_lists')),
    sa.CheckConstraint('year BETWEEN 2000 AND 2100', name=op.f('ck_top100_lists_year_range')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_top100_lists_confirmed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_top100_lists_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_top100_lists')),
    sa.UniqueConstraint('unit_id', 'year', name=op.f('uq_top100_lists_unit_id_year'))
    )
    op.create_table('station_admins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('role', sa.Enum('master', 'assistant', name='adminrole', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('since', sa.Date(), nullable=False),
    sa.Column('until', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('until IS NULL OR until >= since', name=op.f('ck_station_admins_until_after_since')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_station_admins_station_id_stations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_station_admins_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_station_admins'))
    )
    with op.batch_alter_table('station_admins', schema=None) as batch_op:
        batch_op.create_index('ix_station_admins_station_until', ['station_id', 'until'], unique=False)
        batch_op.create_index(batch_op.f('ix_station_admins_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ux_station_admins_one_master', ['station_id'], unique=True, postgresql_where=sa.text("role = 'master' AND until IS NULL"), sqlite_where=sa.text("role = 'master' AND until IS NULL"))

    op.create_table('station_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('identity', sa.String(length=64), nullable=False),
    sa.Column('visit_day', sa.Date(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('comment', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('hidden_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hidden_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("rating IS NOT NULL OR comment <> ''", name=op.f('ck_station_feedback_says_something')),
    sa.CheckConstraint('rating IS NULL OR (rating BETWEEN 1 AND 5)', name=op.f('ck_station_feedback_rating_range')),
    sa.ForeignKeyConstraint(['hidden_by_id'], ['users.id'], name=op.f('fk_station_feedback_hidden_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_station_feedback_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_station_feedback')),
    sa.UniqueConstraint('station_id', 'identity', 'visit_day', name=op.f('uq_station_feedback_station_id_identity_visit_day'))
    )
    with op.batch_alter_table('station_feedback', schema=None) as batch_op:
        batch_op.create_index('ix_station_feedback_station_day', ['station_id', 'visit_day'], unique=False)

    op.create_table('duty_shifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('admin_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('ended_at IS NULL OR ended_at >= started_at', name=op.f('ck_duty_shifts_ends_after_start')),
    sa.ForeignKeyConstraint(['admin_id'], ['station_admins.id'], name=op.f('fk_duty_shifts_admin_id_station_admins'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_duty_shifts_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_shifts'))
    )
    with op.batch_alter_table('duty_shifts', schema=None) as batch_op:
        batch_op.create_index('ix_duty_shifts_station_day', ['station_id', 'day'], unique=False)
        batch_op.create_index('ux_duty_shifts_one_open', ['admin_id'], unique=True, postgresql_where=sa.text('ended_at IS NULL'), sqlite_where=sa.text('ended_at IS NULL'))

    op.create_table('station_admin_trainings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('admin_id', sa.Integer(), nullable=False),
    sa.Column('course', sa.String(length=120), nullable=False),
    sa.Column('taken_on', sa.Date(), nullable=False),
    sa.Column('hours', sa.Numeric(precision=5, scale=1), nullable=False),
    sa.Column('certificate', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('hours > 0', name=op.f('ck_station_admin_trainings_hours_positive')),
    sa.ForeignKeyConstraint(['admin_id'], ['station_admins.id'], name=op.f('fk_station_admin_trainings_admin_id_station_admins'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_station_admin_trainings'))
    )
    with op.batch_alter_table('station_admin_trainings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_station_admin_trainings_admin_id'), ['admin_id'], unique=False)

    with op.batch_alter_table('station_visits', schema=None) as batch_op:
        batch_op.create_index('ix_station_visits_day_station', ['visit_day', 'station_id', 'group', 'identity'], unique=False)



def downgrade():
    with op.batch_alter_table('station_visits', schema=None) as batch_op:
        batch_op.drop_index('ix_station_visits_day_station')

    with op.batch_alter_table('station_admin_trainings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_station_admin_trainings_admin_id'))

    op.drop_table('station_admin_trainings')
    with op.batch_alter_table('duty_shifts', schema=None) as batch_op:
        batch_op.drop_index('ux_duty_shifts_one_open', postgresql_where=sa.text('ended_at IS NULL'), sqlite_where=sa.text('ended_at IS NULL'))
        batch_op.drop_index('ix_duty_shifts_station_day')

    op.drop_table('duty_shifts')
    with op.batch_alter_table('station_feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_station_feedback_station_day')

    op.drop_table('station_feedback')
    with op.batch_alter_table('station_admins', schema=None) as batch_op:
        batch_op.drop_index('ux_station_admins_one_master', postgresql_where=sa.text("role = 'master' AND until IS NULL"), sqlite_where=sa.text("role = 'master' AND until IS NULL"))
        batch_op.drop_index(batch_op.f('ix_station_admins_user_id'))
        batch_op.drop_index('ix_station_admins_station_until')

    op.drop_table('station_admins')
    op.drop_table('top100_lists')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notices_unit_id'))

    op.drop_table('notices')
