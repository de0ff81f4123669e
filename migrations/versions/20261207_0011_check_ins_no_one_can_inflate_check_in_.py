"""check-ins no one can inflate: check-in tokens, capacity a minute, refused attempts; rate limit counters

An activity's public check-in link names it by a random token of its own (not its id, not its
calendar uid, which feeds publish); existing activities get theirs here, made in Python so that
both databases get the same kind of token (secrets.token_urlsafe(16), as the model makes them).
Activities and stations may say how many check-ins a minute they take (checkin_minutes counts
them as they come); refused attempts are kept per activity, minute, limit and client address
(checkin_refusals); rate_limit_counters holds the rate limits' counters when no Redis is set.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 13:36:30.305365

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rate_limit_counters',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limit_counters'))
    )
    with op.batch_alter_table('rate_limit_counters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_limit_counters_expires_at'), ['expires_at'], unique=False)

    op.create_table('checkin_minutes',
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('minute', sa.DateTime(timezone=True), nullable=False),
    sa.Column('minute_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('under_review', sa.Boolean(), nullable=False),
    sa.CheckConstraint('accepted >= 0', name=op.f('ck_checkin_minutes_accepted_not_negative')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_checkin_minutes_activity_id_activities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('activity_id', 'minute', name=op.f('pk_checkin_minutes'))
    )
    with op.batch_alter_table('checkin_minutes', schema=None) as batch_op:
        batch_op.create_index('ix_checkin_minutes_under_review', ['activity_id', 'minute'], unique=False, postgresql_where=sa.text('under_review'), sqlite_where=sa.text('under_review'))

    op.create_table('checkin_refusals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('minute', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Enum('capacity', 'address', name='limitkind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('address_hash', sa.String(length=64), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('count > 0', name=op.f('ck_checkin_refusals_count_positive')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_checkin_refusals_activity_id_activities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_refusals')),
    sa.UniqueConstraint('activity_id', 'minute', 'kind', 'address_hash', name=op.f('uq_checkin_refusals_activity_id_minute_kind_address_hash'))
    )
    op.add_column('activities', sa.Column('checkin_token', sa.String(length=32), nullable=True))
    bind = op.get_bind()
    ids = bind.execute(sa.text('SELECT id FROM activities')).scalars().all()
    if ids:
        bind.execute(
            sa.text('UPDATE activities SET checkin_token = :token WHERE id = :id'),
            [{'token': secrets.token_urlsafe(16), 'id': id_} for id_ in ids],
        )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.alter_column('checkin_token', existing_type=sa.String(length=32), nullable=False)
        batch_op.add_column(sa.Column('checkins_per_minute', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_activities_checkin_token'), ['checkin_token'])
        batch_op.create_check_constraint(op.f('ck_activities_checkins_per_minute_positive'), 'checkins_per_minute IS NULL OR checkins_per_minute > 0')

    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkins_per_minute', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_stations_checkins_per_minute_positive'), 'checkins_per_minute IS NULL OR checkins_per_minute > 0')


def downgrade():
    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_stations_checkins_per_minute_positive'), type_='check')
        batch_op.drop_column('checkins_per_minute')

    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_activities_checkins_per_minute_positive'), type_='check')
        batch_op.drop_constraint(batch_op.f('uq_activities_checkin_token'), type_='unique')
        batch_op.drop_column('checkins_per_minute')
        batch_op.drop_column('checkin_token')

    op.drop_table('checkin_refusals')
    with op.batch_alter_table('checkin_minutes', schema=None) as batch_op:
        batch_op.drop_index('ix_checkin_minutes_under_review', postgresql_where=sa.text('under_review'), sqlite_where=sa.text('under_review'))

    op.drop_table('checkin_minutes')
    with op.batch_alter_table('rate_limit_counters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_limit_counters_expires_at'))

    op.drop_table('rate_limit_counters')
