"""station network: lifecycle, host types, labels, partners, construction targets, coverage goals, funds

Existing stations get what is known of them: an opening day (the local day they were entered,
for those open, suspended or closed), a closing day (the day a closed one was last changed), a
host type guessed from their free-text partner (a gas station for Sinopec, a telecom hall for
China Telecom...; "other" when nothing says), and their free-text partners become partner
records kept by the lowest unit above every station that named them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 10:53:51.643344

"""
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


ZONE = ZoneInfo('Asia/Shanghai')

HOST_TYPES = (
    ('cabin', '独立驿站', 'standalone cabin'),
    ('telecom_hall', '通信营业厅', 'telecom business hall'),
    ('gas_station', '加油站', 'gas station'),
    ('bank', '银行网点', 'bank branch'),
    ('party_mass_centre', '党群服务中心', 'party-mass service centre'),
    ('park', '公园', 'park'),
    ('express_site', '快递外卖站点', 'express or delivery site'),
    ('enterprise', '企业', 'enterprise'),
    ('shop', '商铺', 'shop'),
    ('other', '其他', 'other'),
)
LABELS = (
    ('national_most_beautiful', '全国最美工会驿站', 'national "most beautiful station"'),
    ('provincial_level', '省级工会驿站', 'provincial-level station'),
    ('provincial_practical_project', '省政府民生实事驿站', 'provincial practical-project station'),
    ('demonstration', '示范驿站', 'demonstration station'),
    ('smart', '智慧驿站', 'smart station'),
    ('open_24h', '24小时驿站', '24-hour station'),
)
# What a free-text partner says of where the station is housed, first match wins.
HOST_HINTS = (
    ('gas_station', ('石化', '石油', '加油')),
    ('telecom_hall', ('电信', '移动', '联通', '营业厅')),
    ('bank', ('银行', '信用社')),
    ('party_mass_centre', ('党群',)),
    ('park', ('公园',)),
    ('express_site', ('快递', '外卖', '顺丰', '美团', '饿了么', '邮政')),
)


def seed_catalogues():
    host_types = sa.table(
        'station_host_types',
        sa.column('code', sa.String), sa.column('name_zh', sa.String),
        sa.column('name_en', sa.String), sa.column('position', sa.Integer),
    )
    op.bulk_insert(host_types, [
        {'code': code, 'name_zh': zh, 'name_en': en, 'position': i}
        for i, (code, zh, en) in enumerate(HOST_TYPES)
    ])
    labels = sa.table(
        'station_labels',
        sa.column('code', sa.String), sa.column('name_zh', sa.String),
        sa.column('name_en', sa.String), sa.column('position', sa.Integer),
    )
    op.bulk_insert(labels, [
        {'code': code, 'name_zh': zh, 'name_en': en, 'position': i}
        for i, (code, zh, en) in enumerate(LABELS)
    ])


def _local_day(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZONE).date()


def _host_type(partner):
    for code, hints in HOST_HINTS:
        if any(hint in partner for hint in hints):
            return code
    return 'other'


def _common_unit(paths):
    parts = [p.strip('/').split('/') for p in paths]
    common = []
    for level in zip(*parts):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return int(common[-1]) if common else int(parts[0][0])


def fill_stations():
    bind = op.get_bind()
    type_ids = dict(bind.execute(sa.text('SELECT code, id FROM station_host_types')).all())
    rows = bind.execute(sa.text(
        'SELECT s.id, s.status, s.partner, s.created_at, s.updated_at, u.path '
        'FROM stations s JOIN units u ON u.id = s.unit_id'
    )).all()
    updates, partners = [], {}
    for id_, status, partner, created_at, updated_at, path in rows:
        partner = (partner or '').strip()
        opened = _local_day(created_at) if status in ('active', 'suspended', 'closed') else None
        closed = max(_local_day(updated_at), opened) if status == 'closed' else None
        updates.append({
            'id': id_, 'opened': opened, 'closed': closed,
            'type': type_ids[_host_type(partner)],
        })
        if partner:
            partners.setdefault(partner, []).append((id_, path))
    if updates:
        bind.execute(sa.text(
            'UPDATE stations SET opened_on = :opened, closed_on = :closed, host_type_id = :type '
            'WHERE id = :id'
        ), updates)
    now = datetime.now(UTC)
    for name, stations in sorted(partners.items()):
        unit_id = _common_unit([path for _, path in stations])
        partner_id = bind.execute(sa.text(
            'INSERT INTO partners (unit_id, name, contact_name, contact_phone, created_at) '
            "VALUES (:unit, :name, '', '', :now) RETURNING id"
        ), {'unit': unit_id, 'name': name[:120], 'now': now}).scalar_one()
        bind.execute(sa.text(
            'INSERT INTO station_partners (station_id, partner_id) VALUES (:station, :partner)'
        ), [{'station': station_id, 'partner': partner_id} for station_id, _ in stations])


def upgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('station_host_types',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name_zh', sa.String(length=80), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_station_host_types')),
    sa.UniqueConstraint('code', name=op.f('uq_station_host_types_code'))
    )
    op.create_table('station_labels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name_zh', sa.String(length=80), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_station_labels')),
    sa.UniqueConstraint('code', name=op.f('uq_station_labels_code'))
    )
    op.create_table('construction_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('stations', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('stations >= 0', name=op.f('ck_construction_targets_stations_not_negative')),
    sa.CheckConstraint('year BETWEEN 2000 AND 2100', name=op.f('ck_construction_targets_year_range')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_construction_targets_unit_id_units'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_construction_targets_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_construction_targets')),
    sa.UniqueConstraint('unit_id', 'year', name=op.f('uq_construction_targets_unit_id_year'))
    )
    with op.batch_alter_table('construction_targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_construction_targets_unit_id'), ['unit_id'], unique=False)

    op.create_table('coverage_goals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('province', 'city', 'district', 'street', 'community', name='level', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('percent BETWEEN 1 AND 100', name=op.f('ck_coverage_goals_percent_range')),
    sa.CheckConstraint('year BETWEEN 2000 AND 2100', name=op.f('ck_coverage_goals_year_range')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_coverage_goals_unit_id_units'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_coverage_goals_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coverage_goals')),
    sa.UniqueConstraint('unit_id', 'year', 'level', name=op.f('uq_coverage_goals_unit_id_year_level'))
    )
    with op.batch_alter_table('coverage_goals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coverage_goals_unit_id'), ['unit_id'], unique=False)

    op.create_table('partners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('contact_name', sa.String(length=80), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=False),
    sa.Column('sponsor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['sponsor_id'], ['sponsors.id'], name=op.f('fk_partners_sponsor_id_sponsors'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_partners_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partners')),
    sa.UniqueConstraint('sponsor_id', name=op.f('uq_partners_sponsor_id')),
    sa.UniqueConstraint('unit_id', 'name', name=op.f('uq_partners_unit_id_name'))
    )
    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partners_unit_id'), ['unit_id'], unique=False)

    op.create_table('station_label_awards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('label_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('awarded_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('year BETWEEN 2000 AND 2100', name=op.f('ck_station_label_awards_year_range')),
    sa.ForeignKeyConstraint(['awarded_by_id'], ['units.id'], name=op.f('fk_station_label_awards_awarded_by_id_units'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['label_id'], ['station_labels.id'], name=op.f('fk_station_label_awards_label_id_station_labels'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_station_label_awards_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_station_label_awards')),
    sa.UniqueConstraint('station_id', 'label_id', name=op.f('uq_station_label_awards_station_id_label_id'))
    )
    with op.batch_alter_table('station_label_awards', schema=None) as batch_op:
        batch_op.create_index('ix_station_label_awards_label_year', ['label_id', 'year'], unique=False)

    op.create_table('fund_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('construction_subsidy', 'operating_subsidy', 'award', 'union_investment', 'leveraged', name='fundkind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=True),
    sa.Column('source_unit_id', sa.Integer(), nullable=True),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('allocated_on', sa.Date(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('rule', sa.String(length=60), nullable=True),
    sa.Column('note', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_fund_lines_amount_positive')),
    sa.CheckConstraint('paid_on IS NULL OR paid_on >= allocated_on', name=op.f('ck_fund_lines_paid_after_allocated')),
    sa.CheckConstraint('year BETWEEN 2000 AND 2100', name=op.f('ck_fund_lines_year_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_fund_lines_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_fund_lines_partner_id_partners'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['source_unit_id'], ['units.id'], name=op.f('fk_fund_lines_source_unit_id_units'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_fund_lines_station_id_stations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_fund_lines_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fund_lines')),
    sa.UniqueConstraint('rule', 'station_id', 'year', name=op.f('uq_fund_lines_rule_station_id_year'))
    )
    with op.batch_alter_table('fund_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fund_lines_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fund_lines_source_unit_id'), ['source_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fund_lines_station_id'), ['station_id'], unique=False)
        batch_op.create_index('ix_fund_lines_unit_year', ['unit_id', 'year'], unique=False)

    op.create_table('station_partners',
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_station_partners_partner_id_partners'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_station_partners_station_id_stations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('station_id', 'partner_id', name=op.f('pk_station_partners'))
    )
    with op.batch_alter_table('station_partners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_station_partners_partner_id'), ['partner_id'], unique=False)

    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opened_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('closed_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('closure_reason', sa.String(length=255), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('host_type_id', sa.Integer(), nullable=True))

    seed_catalogues()
    fill_stations()

    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.alter_column('closure_reason', server_default=None)
        batch_op.alter_column('host_type_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(op.f('ck_stations_stationstatus'), type_='check')
        batch_op.create_check_constraint(
            'stationstatus',
            "status IN ('planned', 'under_construction', 'active', 'suspended', 'closed')",
        )
        batch_op.create_check_constraint(
            'closed_after_opened', 'closed_on IS NULL OR opened_on IS NULL OR closed_on >= opened_on'
        )
        batch_op.create_check_constraint(
            'opened_has_date', "status NOT IN ('active', 'suspended', 'closed') OR opened_on IS NOT NULL"
        )
        batch_op.create_check_constraint('closed_has_date', "status <> 'closed' OR closed_on IS NOT NULL")
        batch_op.create_check_constraint(
            'not_opened_has_no_date', "status IN ('active', 'suspended', 'closed') OR opened_on IS NULL"
        )
        batch_op.create_index(batch_op.f('ix_stations_host_type_id'), ['host_type_id'], unique=False)
        batch_op.create_index('ix_stations_unit_opened', ['unit_id', 'opened_on', 'closed_on'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_stations_host_type_id_station_host_types'), 'station_host_types', ['host_type_id'], ['id'], ondelete='RESTRICT')
        batch_op.drop_column('partner')

    # ### end Alembic commands ###


def downgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partner', sa.VARCHAR(length=120), nullable=False, server_default=''))
        batch_op.drop_constraint(op.f('ck_stations_not_opened_has_no_date'), type_='check')
        batch_op.drop_constraint(op.f('ck_stations_closed_has_date'), type_='check')
        batch_op.drop_constraint(op.f('ck_stations_opened_has_date'), type_='check')
        batch_op.drop_constraint(op.f('ck_stations_closed_after_opened'), type_='check')
        batch_op.drop_constraint(op.f('ck_stations_stationstatus'), type_='check')
        batch_op.create_check_constraint('stationstatus', "status IN ('active', 'suspended', 'closed')")
        batch_op.drop_constraint(batch_op.f('fk_stations_host_type_id_station_host_types'), type_='foreignkey')
        batch_op.drop_index('ix_stations_unit_opened')
        batch_op.drop_index(batch_op.f('ix_stations_host_type_id'))
        batch_op.drop_column('host_type_id')
        batch_op.drop_column('closure_reason')
        batch_op.drop_column('closed_on')
        batch_op.drop_column('opened_on')

    with op.batch_alter_table('station_partners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_station_partners_partner_id'))

    op.drop_table('station_partners')
    with op.batch_alter_table('fund_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_fund_lines_unit_year')
        batch_op.drop_index(batch_op.f('ix_fund_lines_station_id'))
        batch_op.drop_index(batch_op.f('ix_fund_lines_source_unit_id'))
        batch_op.drop_index(batch_op.f('ix_fund_lines_partner_id'))

    op.drop_table('fund_lines')
    with op.batch_alter_table('station_label_awards', schema=None) as batch_op:
        batch_op.drop_index('ix_station_label_awards_label_year')

    op.drop_table('station_label_awards')
    with op.batch_alter_table('partners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partners_unit_id'))

    op.drop_table('partners')
    with op.batch_alter_table('coverage_goals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coverage_goals_unit_id'))

    op.drop_table('coverage_goals')
    with op.batch_alter_table('construction_targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_construction_targets_unit_id'))

    op.drop_table('construction_targets')
    op.drop_table('station_labels')
    op.drop_table('station_host_types')
    # ### end Alembic commands ###
