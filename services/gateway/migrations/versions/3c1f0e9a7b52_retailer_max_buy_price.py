"""retailer max buy price (Settings: the price guardrail's maximum buy price per unit, USD)

Revision ID: 3c1f0e9a7b52
Revises: 01682083bc82
Create Date: 2026-12-02 07:30:00.000000
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '3c1f0e9a7b52'
down_revision = '01682083bc82'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('gateway_retailers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_buy_price_usd', sqlmodel.sql.sqltypes.AutoString(length=32),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('gateway_retailers', schema=None) as batch_op:
        batch_op.drop_column('max_buy_price_usd')
