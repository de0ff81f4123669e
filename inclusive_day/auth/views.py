"""Sign in and out, change one's password; user administration lives in views_users."""

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from flask_login import current_user, login_required, login_user, logout_user

from inclusive_day.auth import bp
from inclusive_day.auth.forms import LoginForm, PasswordChangeForm
from inclusive_day.auth.names import username_key
from inclusive_day.auth.services import UserError, authenticate, end_sessions
from inclusive_day.auth.services import change_password as change_own_password
from inclusive_day.extensions import db, limiter
from inclusive_day.web import client_key, safe_next, show_error

# Pages a user whose password must be changed may still open.
OPEN_WHILE_CHANGE_DUE = frozenset(
    {
        "auth.change_password",
        "auth.logout",
        "static",
        "bootstrap.static",
        "main.set_language",
        "main.healthz",
        "main.favicon",
    }
)


def _fresh_session(user, remember: bool) -> None:
    """Sign `user` in on a new session (only the language survives): no session fixation."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(user, remember=remember)


# --- Sign-in limits -----------------------------------------------------------------------------
# Failed attempts are counted per client address and per account (the user name typed,
# lower-cased), in the limiter's storage: Redis when REDIS_URL is set, so every worker shares
# them. An attempt over a limit is answered before the password is looked at.


def _account_key() -> str:
    # Read by the rule for names, so that ＡＤＭＩＮ and admin count against one account.
    return "login-account:" + username_key(request.form.get("username"))[:80]


def _failed(_response) -> bool:
    return bool(g.get("login_failed"))


@bp.errorhandler(RateLimitExceeded)
def _too_many_attempts(error):
    """Too many failed sign-ins: the sign-in page again, with why and no password checked."""
    form = LoginForm()
    message = _(
        "Too many failed sign-in attempts. Wait a quarter of an hour and try again, "
        "or ask an administrator to reset your password."
    )
    return render_template("auth/login.html", form=form, blocked=message), 429


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_ADDRESS"],
    key_func=client_key("login-address"),
    methods=["POST"],
    deduct_when=_failed,
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_ACCOUNT"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed,
)
def login():
    """Show the sign-in form; sign in on valid credentials."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is None:
            g.login_failed = True
            form.password.errors.append(_("Wrong user name or password."))
        else:
            _fresh_session(user, remember=form.remember.data)
            db.session.commit()
            flash(_("Welcome, %(name)s.", name=user.display_name), "success")
            if user.must_change_password:
                return redirect(url_for("auth.change_password"))
            return redirect(safe_next(request.args.get("next"), url_for("main.dashboard")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out here and everywhere else: the session version moves on, so a copied session
    or remember-me cookie no longer signs anyone in."""
    end_sessions(current_user._get_current_object())
    db.session.commit()
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """The signed-in user changes their password; their other sessions end, this one stays."""
    user = current_user._get_current_object()
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            change_own_password(
                user,
                form.current.data,
                form.password.data,
                revoke_tokens=form.revoke_tokens.data,
            )
        except UserError as error:
            db.session.rollback()
            show_error(form, error.message, error.field)
        else:
            remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
            _fresh_session(user, remember=remember in request.cookies)
            db.session.commit()
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("main.dashboard"))
    return render_template("auth/password.html", form=form, due=user.must_change_password)


@bp.before_app_request
def _password_change_due():
    """After an administrator's reset, the temporary password must be replaced first."""
    if request.endpoint is None or request.endpoint in OPEN_WHILE_CHANGE_DUE:
        return None
    if not (current_user.is_authenticated and current_user.must_change_password):
        return None
    if request.path.startswith("/api/"):
        abort(403)
    flash(_("Please choose a new password before you go on."), "warning")
    return redirect(url_for("auth.change_password"))
