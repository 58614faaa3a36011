"""order alerts (late-shipment alerts: late, not synced)

Revision ID: c4a7e2d91f30
Revises: bbcdc85ccb0d
Create Date: 2026-12-02 08:30:00.000000
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import dropline_infra.types

revision = 'c4a7e2d91f30'
down_revision = 'bbcdc85ccb0d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sync_order_alerts',
    sa.Column('order_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('retailer_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('correlation_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('started_at', dropline_infra.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('handling_days', sa.Integer(), nullable=True),
    sa.Column('terms_known', sa.Boolean(), nullable=False),
    sa.Column('tracked_at', dropline_infra.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', dropline_infra.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('late_since', dropline_infra.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('not_synced_since', dropline_infra.types.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('order_id')
    )
    with op.batch_alter_table('sync_order_alerts', schema=None) as batch_op:
        batch_op.create_index('ix_sync_order_alerts_open', ['closed_at', 'tracked_at', 'started_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sync_order_alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_order_alerts_open')
    op.drop_table('sync_order_alerts')
