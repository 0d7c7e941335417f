"""flask commands: ``flask --app webui create-admin``, ``set-role``, ``storage migrate``."""

from collections import Counter

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from webui.core.storage import LocalStorage, StorageUnavailable, current_storage
from webui.errors import ServiceError
from webui.services import files, users

storage_commands = AppGroup("storage", help="Manage where uploaded bytes are stored.")


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


@storage_commands.command("migrate")
@click.option(
    "--from-folder",
    type=click.Path(exists=True, file_okay=False),
    help="The local upload folder to copy from (default: UPLOAD_DIR).",
)
@with_appcontext
def migrate_storage(from_folder: str | None) -> None:
    """Copy every uploaded file from the local folder into the configured bucket, reading
    each back to check its SHA-256. Safe to run again; the local files are kept."""
    target = current_storage()
    if isinstance(target, LocalStorage):
        raise click.ClickException(
            "The configured storage is the local folder: set STORAGE_PROVIDER=s3 and the S3_* "
            "variables (as the servers will have them), then run this again."
        )
    source = LocalStorage(from_folder or current_app.config["UPLOAD_DIR"])
    click.echo(f"Copying from {source.description} to {target.description}.")
    outcomes = Counter()
    for file in files.all_files():
        try:
            outcome = files.copy_stored(file, source, target)
        except StorageUnavailable as error:
            raise click.ClickException(
                f"Stopped at file {file.id}: {error}. Nothing is lost; run the command again."
            ) from None
        outcomes[outcome] += 1
        if outcome in ("missing", "mismatch"):
            click.echo(f"{outcome}: file {file.id} ({file.size} bytes)", err=True)
    click.echo(
        f"{outcomes['copied']} copied and verified, {outcomes['present']} already in the bucket, "
        f"{outcomes['missing']} missing from the folder, {outcomes['mismatch']} read back wrong."
    )
    if outcomes["missing"] or outcomes["mismatch"]:
        raise click.ClickException("Some files were not copied; see the list above.")


def register_commands(app: Flask) -> None:
    app.cli.add_command(create_admin)
    app.cli.add_command(set_role)
    app.cli.add_command(storage_commands)
