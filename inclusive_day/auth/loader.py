"""Flask-Login's user loader."""

from inclusive_day.auth.models import User
from inclusive_day.extensions import db


def load_user(session_id: str) -> User | None:
    """The signed-in user for a session id "<user id>-<session version>" (see User.get_id).

    None once the account is gone or disabled, or its session version has moved on: signing
    out, a password change or reset and disabling the account all end every older session.
    """
    user_id, _, version = session_id.partition("-")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user
