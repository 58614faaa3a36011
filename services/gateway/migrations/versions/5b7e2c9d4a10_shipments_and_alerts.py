"""shipments and alerts: partial shipments (lines per tracking report, corrections), late / not-synced
flags on orders, and the status ranks renumbered for partially_shipped (after forwarded, before shipped)

Revision ID: 5b7e2c9d4a10
Revises: 3c1f0e9a7b52
Create Date: 2026-12-02 13:10:00.000000
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import dropline_infra.types

revision = '5b7e2c9d4a10'
down_revision = '3c1f0e9a7b52'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('gateway_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('late_since', dropline_infra.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('not_synced_since', dropline_infra.types.UtcDateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table('gateway_tracking_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lines_json', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('corrects_tracking_id', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
        batch_op.add_column(sa.Column('superseded_at', dropline_infra.types.UtcDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('changed_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column('change_reason', sa.Text(), nullable=True))
    # partially_shipped takes rank 4: shipped and everything after it move up by one.
    op.execute("UPDATE gateway_orders SET status_rank = status_rank + 1 WHERE status_rank >= 4")


def downgrade() -> None:
    op.execute("UPDATE gateway_orders SET status = 'shipped' WHERE status = 'partially_shipped'")
    op.execute("UPDATE gateway_orders SET status_rank = status_rank - 1 WHERE status_rank >= 5")
    with op.batch_alter_table('gateway_tracking_reports', schema=None) as batch_op:
        for column in ('change_reason', 'changed_by', 'superseded_at', 'corrects_tracking_id', 'lines_json'):
            batch_op.drop_column(column)
    with op.batch_alter_table('gateway_orders', schema=None) as batch_op:
        batch_op.drop_column('not_synced_since')
        batch_op.drop_column('late_since')
