"""User administration for administrators: accounts, passwords and role grants.

Everyone else gets 404 here, so that the pages do not show they exist.
"""

from functools import wraps

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from inclusive_day.access.rule import Action, reach
from inclusive_day.auth import bp
from inclusive_day.auth.forms import NONE, ActionForm, GrantForm, UserCreateForm
from inclusive_day.auth.models import Role, RoleGrant, User
from inclusive_day.auth.services import (
    USER_LIST_MAX,
    UserError,
    add_user,
    grant_role,
    grants_by_user,
    reset_password,
    revoke_grant,
    search_users,
    set_active,
)
from inclusive_day.extensions import db
from inclusive_day.sponsors.models import Sponsor, SponsorStatus
from inclusive_day.units.models import Unit
from inclusive_day.units.queries import unit_choices
from inclusive_day.web import show_error


def admin_required(view):
    """Let administrators through; answer 404 to everyone else who is signed in."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not reach(current_user, Action.EDIT).everything:
            abort(404)
        return view(*args, **kwargs)

    return wrapped


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _grant_form() -> GrantForm:
    form = GrantForm()
    units = db.session.scalars(select(Unit).order_by(Unit.path))
    form.unit.choices = [(NONE, "—"), *unit_choices(units)]
    sponsors = db.session.scalars(
        select(Sponsor).where(Sponsor.status == SponsorStatus.APPROVED).order_by(Sponsor.name)
    )
    form.sponsor.choices = [(NONE, "—"), *((s.id, s.name) for s in sponsors)]
    return form


def _user_page(
    user: User,
    grant_form: GrantForm | None = None,
    error: str | None = None,
    temporary_password: str | None = None,
):
    """The page of one user, with its grants and the forms that change them."""
    html = render_template(
        "auth/user.html",
        user=user,
        grants=grants_by_user([user.id])[user.id],
        grant_form=grant_form or _grant_form(),
        action_form=ActionForm(),
        is_self=user.id == current_user.id,
        error=error,
        temporary_password=temporary_password,
    )
    response = make_response(html)
    if temporary_password:
        # The temporary password is shown this once: no cache, no history copy.
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/users")
@admin_required
def users():
    """Every account, searched by user name or display name, with its roles."""
    query = request.args.get("q", "").strip()[:80]
    found = search_users(query, USER_LIST_MAX + 1)
    more = len(found) > USER_LIST_MAX
    found = found[:USER_LIST_MAX]
    return render_template(
        "auth/users.html",
        users=found,
        grants=grants_by_user([u.id for u in found]),
        query=query,
        more=more,
        limit=USER_LIST_MAX,
    )


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user():
    """An administrator adds an account; roles are granted on its page next."""
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = add_user(
                form.username.data,
                form.password.data,
                form.display_name.data or "",
                must_change_password=form.must_change.data,
            )
        except UserError as error:
            db.session.rollback()
            show_error(form, error.message, error.field)
        else:
            db.session.commit()
            flash(_("%(name)s can now sign in. Grant a role next.", name=user.username), "success")
            return redirect(url_for("auth.user", user_id=user.id))
    return render_template("auth/user_new.html", form=form)


@bp.route("/users/<int:user_id>")
@admin_required
def user(user_id: int):
    """One account: its state, its roles, and the buttons that change them."""
    return _user_page(_user_or_404(user_id))


@bp.route("/users/<int:user_id>/disable", methods=["POST"])
@admin_required
def disable_user(user_id: int):
    """Close an account; every session it has ends at once."""
    return _set_active(_user_or_404(user_id), False)


@bp.route("/users/<int:user_id>/enable", methods=["POST"])
@admin_required
def enable_user(user_id: int):
    """Open a closed account again."""
    return _set_active(_user_or_404(user_id), True)


def _set_active(user: User, active: bool):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        set_active(user, active, by=current_user._get_current_object())
    except UserError as error:
        db.session.rollback()
        return _user_page(user, error=error.message)
    db.session.commit()
    if active:
        flash(_("%(name)s can sign in again.", name=user.username), "success")
    else:
        flash(_("%(name)s is disabled and signed out.", name=user.username), "success")
    return redirect(url_for("auth.user", user_id=user.id))


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@admin_required
def reset_user_password(user_id: int):
    """Give the user a temporary password, shown here once; it must be changed at sign-in."""
    user = _user_or_404(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    password = reset_password(user)
    db.session.commit()
    return _user_page(user, temporary_password=password)


@bp.route("/users/<int:user_id>/grants", methods=["POST"])
@admin_required
def grant_user_role(user_id: int):
    """Grant a role over a unit, a station, a sponsor or (administrator) everything."""
    user = _user_or_404(user_id)
    form = _grant_form()
    if not form.validate_on_submit():
        return _user_page(user, grant_form=form)
    try:
        row = grant_role(
            user,
            Role(form.role.data),
            unit_id=form.unit.data or None,
            station_code=form.station_code.data,
            sponsor_id=form.sponsor.data or None,
        )
    except UserError as error:
        db.session.rollback()
        show_error(form, error.message, error.field)
        return _user_page(user, grant_form=form)
    db.session.commit()
    flash(
        _("%(name)s now holds the role %(role)s.", name=user.username, role=row.role.label),
        "success",
    )
    return redirect(url_for("auth.user", user_id=user.id))


@bp.route("/users/<int:user_id>/grants/<int:grant_id>/revoke", methods=["POST"])
@admin_required
def revoke_user_role(user_id: int, grant_id: int):
    """Take a role back."""
    user = _user_or_404(user_id)
    row = db.session.get(RoleGrant, grant_id)
    if row is None or row.user_id != user.id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    label = row.role.label
    try:
        revoke_grant(row, by=current_user._get_current_object())
    except UserError as error:
        db.session.rollback()
        return _user_page(user, error=error.message)
    db.session.commit()
    flash(
        _("%(name)s no longer holds the role %(role)s.", name=user.username, role=label), "success"
    )
    return redirect(url_for("auth.user", user_id=user.id))
