"""checkins: the person key that unique people counts, and an index of standing check-ins

The key is the identity's first 64 bits as a signed bigint (attendance.identity.person_key);
existing rows get theirs computed here: in SQL on PostgreSQL, in Python on SQLite (which has
no hex parsing).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 04:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _key(identity: str) -> int:
    value = int(identity[:16], 16)
    return value - (1 << 64) if value >= 1 << 63 else value


def upgrade():
    op.add_column('checkins', sa.Column('person_key', sa.BigInteger(), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute(
            "UPDATE checkins SET person_key = ('x' || substr(identity, 1, 16))::bit(64)::bigint"
        )
    else:
        rows = bind.execute(sa.text('SELECT id, identity FROM checkins')).all()
        if rows:
            bind.execute(
                sa.text('UPDATE checkins SET person_key = :key WHERE id = :id'),
                [{'key': _key(identity), 'id': id_} for id_, identity in rows],
            )
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.alter_column('person_key', existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_index('ix_checkins_standing', ['activity_id', 'group', 'person_key'], unique=False, postgresql_where=sa.text('annulled_at IS NULL'), sqlite_where=sa.text('annulled_at IS NULL'))


def downgrade():
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.drop_index('ix_checkins_standing', postgresql_where=sa.text('annulled_at IS NULL'), sqlite_where=sa.text('annulled_at IS NULL'))
        batch_op.drop_column('person_key')
