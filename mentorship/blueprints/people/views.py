from flask import flash, redirect, url_for

from ...access import EDIT, get_or_404, require
from ...extensions import db
from ...models import User
from ...services.people import create_person, update_person
from ...tables import Column
from ..auth.links import send_password_link
from ..records import RecordPages
from . import bp
from .forms import ROLE_LABELS, PersonForm

pages = RecordPages(
    importable=True,
    model=User,
    form_class=PersonForm,
    noun="person",
    plural="people",
    columns=[
        Column("Name", lambda u: u.name, link=lambda u: url_for("people.show", object_id=u.id)),
        Column("Email", lambda u: u.email),
        Column("Role", lambda u: ROLE_LABELS[u.role]),
        Column("Library", lambda u: u.library.name if u.library else ""),
        Column("Password set", lambda u: bool(u.password_hash)),
        Column("Last sign-in", lambda u: u.last_login_at.date() if u.last_login_at else None),
        Column("Active", lambda u: u.active),
    ],
    search=[User.name, User.email],
    order_by=User.name,
    show_template="people/show.html",
    create=create_person,
    update=update_person,
    after_create=lambda user: send_password_link(user, invitation=True),
    detail_context=lambda user: {"role_label": ROLE_LABELS[user.role]},
    list_options=[db.joinedload(User.library)],
)
pages.register(bp)


@bp.post("/<int:object_id>/send-link")
@require(EDIT, User)
def send_link(object_id: int):
    person = get_or_404(User, object_id, EDIT)
    send_password_link(person, invitation=not person.password_hash)
    flash(f"A link to set a password was emailed to {person.email}.", "success")
    return redirect(url_for("people.show", object_id=person.id))
