"""back office: closures and absences entered by staff

`staff_closures`: the office, or one counter of it, is closed in [start, end) (a day, a half
day, one counter's absence), with the reason shown to the citizens it affects and the
clerk who entered it. The free slots and the booking services read it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_closures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.String(length=64), nullable=False),
        sa.Column("counter", sa.Integer(), nullable=True),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff_closures", schema=None) as batch_op:
        batch_op.create_index("ix_staff_closures_office_id_start", ["office_id", "start"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("staff_closures", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_closures_office_id_start")
    op.drop_table("staff_closures")
