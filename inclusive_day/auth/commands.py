"""`flask users ...`: accounts from the command line, for the first administrator."""

import click
from flask.cli import AppGroup

from inclusive_day.auth.models import Role
from inclusive_day.auth.passwords import password_problem
from inclusive_day.auth.services import create_user, grant
from inclusive_day.extensions import db

users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create-admin")
@click.argument("username")
@click.password_option()
def create_admin(username: str, password: str) -> None:
    """Create an administrator who may do everything."""
    problem = password_problem(password, username)
    if problem:
        raise click.ClickException(problem)
    user = create_user(username, password)
    grant(user, Role.ADMIN)
    db.session.commit()
    click.echo(f"Created administrator {username}.")
