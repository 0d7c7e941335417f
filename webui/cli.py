"""flask commands: ``flask --app webui create-admin``, ``set-role``."""

import click
from flask import Flask
from flask.cli import with_appcontext

from webui.errors import ServiceError
from webui.services import users


@click.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", prompt=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def create_admin(email: str, name: str, password: str) -> None:
    """Create an administrator account."""
    try:
        user = users.create_user(name, email, password, role="admin")
    except ServiceError as error:
        raise click.ClickException(error.detail) from None
    click.echo(f"Created admin {user.email}.")


@click.command("set-role")
@click.argument("email")
@click.argument("role")
@with_appcontext
def set_role(email: str, role: str) -> None:
    """Give the account with EMAIL the ROLE admin, user or pending."""
    user = users.find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"No account with the email {email}.")
    try:
        users.change_role(user, role)
    except ServiceError as error:
        raise click.ClickException(error.detail) from None
    click.echo(f"{user.email} is now {user.role}.")


def register_commands(app: Flask) -> None:
    app.cli.add_command(create_admin)
    app.cli.add_command(set_role)
