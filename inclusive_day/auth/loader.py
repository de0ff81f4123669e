"""Flask-Login's user loader."""

from inclusive_day.auth.models import User
from inclusive_day.extensions import db


def load_user(user_id: str) -> User | None:
    """The signed-in user for a session, or None once the account is gone or disabled."""
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None
