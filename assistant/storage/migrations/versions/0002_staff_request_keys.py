"""staff request de-duplication keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("video_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conversation_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("contact_key", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_video_requests_status_created_at", ["status", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("video_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_video_requests_status_created_at")
        batch_op.drop_column("contact_key")
        batch_op.drop_column("conversation_key")
