"""back office: staff accounts, sessions, login failures, audit log; the visit's times

`staff_users`: one row per back-office account (argon2 hash, role, offices, disabled).
`staff_sessions`: server-side sessions, only the SHA-256 of the session id, with the CSRF
token and when it was last used (idle logout). `staff_login_failures`: failed logins per
hashed user name or client address (throttling). `staff_audit`: who viewed or changed which
appointment (ids only). On `appointments`: when the citizen arrived, was called in, was done,
or did not come (`status` keeps meaning booked | cancelled).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

VISIT_TIMES = ("arrived_at", "started_at", "done_at", "no_show_at")


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("offices", sa.JSON(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("id_hash"),
    )
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_sessions_user_id"), ["user_id"], unique=False)
    op.create_table(
        "staff_login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff_login_failures", schema=None) as batch_op:
        batch_op.create_index("ix_staff_login_failures_key_at", ["key", "at"], unique=False)
    op.create_table(
        "staff_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_audit_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_staff_audit_user_id"), ["user_id"], unique=False)
        batch_op.create_index("ix_staff_audit_appointment_id_at", ["appointment_id", "at"],
                              unique=False)
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        for name in VISIT_TIMES:
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        for name in reversed(VISIT_TIMES):
            batch_op.drop_column(name)
    with op.batch_alter_table("staff_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_audit_appointment_id_at")
        batch_op.drop_index(batch_op.f("ix_staff_audit_user_id"))
        batch_op.drop_index(batch_op.f("ix_staff_audit_at"))
    op.drop_table("staff_audit")
    with op.batch_alter_table("staff_login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_login_failures_key_at")
    op.drop_table("staff_login_failures")
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_sessions_user_id"))
    op.drop_table("staff_sessions")
    op.drop_table("staff_users")
