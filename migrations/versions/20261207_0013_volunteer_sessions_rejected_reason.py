"""volunteer sessions say why they were rejected

A rejected session keeps the reason the station's administrator or the activity's organiser
gave, so the volunteer sees why and can correct and log it again.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 16:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('volunteer_sessions', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('rejected_reason', sa.String(length=300), server_default='', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('volunteer_sessions', schema=None) as batch_op:
        batch_op.drop_column('rejected_reason')
