"""The user's API tokens: make one (shown once), see when each was used, revoke."""

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from inclusive_day.api import bp
from inclusive_day.api.forms import TokenForm
from inclusive_day.api.models import ApiToken, TokenScope
from inclusive_day.api.tokens import issue_token, revoke_token, user_tokens
from inclusive_day.extensions import db


def _page(form: TokenForm, status: int = 200, new_token: dict | None = None):
    response = make_response(
        render_template(
            "api/tokens.html", form=form, tokens=user_tokens(current_user), new_token=new_token
        ),
        status,
    )
    # The page may hold a raw token: no browser or proxy should keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/account/tokens")
@login_required
def tokens():
    """The user's API tokens and the form to make one; a token just made is shown once."""
    return _page(TokenForm())


@bp.post("/account/tokens")
@login_required
def create_token():
    """Make a token and show it once, in this very answer: the raw token goes nowhere else
    (not into the session cookie, which is signed, not encrypted), and no cache keeps it."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    token, raw = issue_token(current_user, form.name.data, TokenScope(form.scope.data))
    db.session.commit()
    flash(_("The token %(name)s is made.", name=token.name), "success")
    return _page(TokenForm(formdata=None), 201, new_token={"name": token.name, "raw": raw})


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    """Stop one of the user's tokens from working, at once."""
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == current_user.id)
    )
    if token is None:
        abort(404)
    revoke_token(token)
    db.session.commit()
    flash(_("The token %(name)s no longer works.", name=token.name), "success")
    return redirect(url_for("api.tokens"))
