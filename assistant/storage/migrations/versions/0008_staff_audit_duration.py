"""back office: the clerk's handling time with the audit row

`staff_audit.duration_ms`: for a booking, move or cancellation on behalf, the milliseconds
from opening the form to saving it (the county's "Verarbeitungszeit"); empty otherwise.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_audit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duration_ms", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff_audit", schema=None) as batch_op:
        batch_op.drop_column("duration_ms")
