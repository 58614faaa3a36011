"""payment actions, provider events inbox, refunds

Revision ID: 570082a9c868
Revises: 165036b4d53d
Create Date: 2026-12-02 07:04:09.197994
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import dropline_infra.types

revision = '570082a9c868'
down_revision = '165036b4d53d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('checkout_provider_events',
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('received_at', dropline_infra.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('applied_at', dropline_infra.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('provider', 'event_id')
    )
    with op.batch_alter_table('checkout_provider_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkout_provider_events_reference'), ['reference'], unique=False)

    op.create_table('checkout_refunds',
    sa.Column('refund_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('payment_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('order_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('retailer_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('usd_json', sa.Text(), nullable=False),
    sa.Column('supplier_json', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('provider_reference', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('created_at', dropline_infra.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', dropline_infra.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', dropline_infra.types.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('refund_id'),
    sa.UniqueConstraint('payment_id', 'order_id', name='uq_checkout_refunds_order')
    )
    with op.batch_alter_table('checkout_refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkout_refunds_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index('ix_checkout_refunds_status', ['status', 'updated_at'], unique=False)

    with op.batch_alter_table('checkout_payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('capture_reference', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column('action_json', sa.Text(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('checkout_payments', schema=None) as batch_op:
        batch_op.drop_column('action_json')
        batch_op.drop_column('capture_reference')

    with op.batch_alter_table('checkout_refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_checkout_refunds_status')
        batch_op.drop_index(batch_op.f('ix_checkout_refunds_payment_id'))

    op.drop_table('checkout_refunds')
    with op.batch_alter_table('checkout_provider_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkout_provider_events_reference'))

    op.drop_table('checkout_provider_events')
