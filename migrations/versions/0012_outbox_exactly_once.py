"""outbox: claimed / sending / unconfirmed / skipped states, a row's own age rule, resends; the mail server's state

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 00:30:00

Existing rows: a row held by a sender ("sending" before) is "claimed"; a row marked sent
because its person had opted out or left is "skipped" with that reason.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

OLD = ("pending", "sending", "sent", "failed")
NEW = ("pending", "claimed", "sending", "sent", "unconfirmed", "skipped", "failed")


def _status(values):
    return sa.Enum(*values, name="outbox_status", native_enum=False, create_constraint=True)


def upgrade():
    op.create_table(
        "mail_server_state",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("unreachable_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_mail_server_state")),
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resends", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("relevant_until", sa.Date(), nullable=True))
        batch_op.alter_column(
            "status", existing_type=_status(OLD), type_=_status(NEW), existing_nullable=False
        )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.alter_column("resends", server_default=None)
    op.execute("UPDATE outbox_messages SET status = 'claimed' WHERE status = 'sending'")
    op.execute(
        "UPDATE outbox_messages SET status = 'skipped' "
        "WHERE status = 'sent' AND last_error = 'opted out'"
    )


def downgrade():
    op.execute("UPDATE outbox_messages SET status = 'sending' WHERE status = 'claimed'")
    op.execute("UPDATE outbox_messages SET status = 'sent' WHERE status IN ('skipped', 'sending')")
    op.execute("UPDATE outbox_messages SET status = 'failed' WHERE status = 'unconfirmed'")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.alter_column(
            "status", existing_type=_status(NEW), type_=_status(OLD), existing_nullable=False
        )
        batch_op.drop_column("relevant_until")
        batch_op.drop_column("resends")
    op.drop_table("mail_server_state")
