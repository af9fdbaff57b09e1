"""the staff override's reason with the appointment; occupancy indexed by office and cell

`override_reason`: why staff booked or moved an appointment outside the opening hours, on a
closure or a holiday (audited; staff text, never logged, cleared with the personal data).

`ix_occupancy_office_id_cell`: the booking path looks up an office's cells of one time range
on every request; the unique constraint's index (office, counter, cell) serves that only with
the server's statistics, this one always.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("override_reason", sa.String(length=500), nullable=True))
    with op.batch_alter_table("occupancy", schema=None) as batch_op:
        batch_op.create_index("ix_occupancy_office_id_cell", ["office_id", "cell"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("occupancy", schema=None) as batch_op:
        batch_op.drop_index("ix_occupancy_office_id_cell")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_column("override_reason")
