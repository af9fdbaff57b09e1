"""PostgreSQL: booked appointments of one counter can never overlap (exclusion constraint)

The 5-minute cells in `occupancy` (unique per office, counter and cell) already keep bookings
and holds apart on every database; on PostgreSQL the appointments themselves carry the same
guarantee for any start and end, whatever writes them: an exclusion constraint over the office,
the counter and the time range of every booked row (cancelled rows are left out). It needs the
`btree_gist` extension, which ships with PostgreSQL (creating it needs the right to do so).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 16:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        'ALTER TABLE appointments ADD CONSTRAINT appointments_no_overlap EXCLUDE USING gist '
        '(office_id WITH =, counter WITH =, tstzrange(start, "end") WITH &&) '
        "WHERE (status = 'booked')"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE appointments DROP CONSTRAINT IF EXISTS appointments_no_overlap")
