"""user Markdown rendered once when saved (stored HTML beside the Markdown); calendar feed tokens stored as their SHA-256

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 00:30:00

Existing rows: the HTML of every case study, case-study comment and milestone comment
is rendered now with the app's one renderer (markdown-it-py, then nh3), so nothing is
rendered when a page is viewed. Existing calendar tokens are hashed in place rather than
invalidated: people's subscribed calendars keep working (the address carries the token,
the database now holds only its digest), and nobody has to subscribe again. Coming
down, the hashes cannot be turned back into tokens, so calendar addresses are cleared.
"""

import hashlib

from alembic import op
import sqlalchemy as sa

from mentorship.rendering import render_markdown


# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLES = ("case_studies", "case_study_comments", "milestone_comments")


def upgrade():
    connection = op.get_bind()
    for name in TABLES:
        with op.batch_alter_table(name) as batch_op:
            batch_op.add_column(
                sa.Column("body_html", sa.Text(), nullable=False, server_default="")
            )
        table = sa.table(name, sa.column("id"), sa.column("body"), sa.column("body_html"))
        rows = connection.execute(sa.select(table.c.id, table.c.body)).all()
        for row_id, body in rows:
            connection.execute(
                table.update()
                .where(table.c.id == row_id)
                .values(body_html=str(render_markdown(body or "")))
            )
        with op.batch_alter_table(name) as batch_op:
            batch_op.alter_column("body_html", server_default=None)

    users = sa.table("users", sa.column("id"), sa.column("calendar_token"))
    for user_id, token in connection.execute(
        sa.select(users.c.id, users.c.calendar_token).where(users.c.calendar_token.is_not(None))
    ).all():
        digest = hashlib.sha256(token.encode()).hexdigest()
        connection.execute(
            users.update().where(users.c.id == user_id).values(calendar_token=digest)
        )


def downgrade():
    users = sa.table("users", sa.column("calendar_token"))
    op.get_bind().execute(users.update().values(calendar_token=None))
    for name in reversed(TABLES):
        with op.batch_alter_table(name) as batch_op:
            batch_op.drop_column("body_html")
