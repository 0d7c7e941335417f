"""flask commands: ``flask --app webui create-admin``, ``set-role``, ``storage migrate``,
``audit prune``."""

from collections import Counter

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from webui.core.storage import LocalStorage, StorageUnavailable, current_storage
from webui.errors import ServiceError
from webui.services import audit_log, files, users

storage_commands = AppGroup("storage", help="Manage where uploaded bytes are stored.")
audit_commands = AppGroup("audit", help="Keep the audit trail within its retention.")


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


@audit_commands.command("prune")
@click.option("--days", help="Delete events older than this many days instead (1–36500).")
@with_appcontext
def prune_audit(days: str | None) -> None:
    """Delete audit events older than AUDIT_RETENTION_DAYS (a few thousand rows at a time,
    so the table is never held for long); run it daily, e.g. from cron."""
    retention = audit_log.retention_days()
    kept = "keep forever" if retention == 0 else f"keep {retention} days"
    click.echo(f"AUDIT_RETENTION_DAYS is {retention} ({kept}).")
    try:
        days_kept = audit_log.parse_prune_days(days) if days is not None else retention
    except ServiceError as error:
        raise click.ClickException(f"--{error.detail}") from None
    if days_kept == 0:
        click.echo("Nothing deleted (pass --days N to delete events older than N days).")
        return
    deleted = audit_log.prune(days_kept)
    click.echo(
        f"Deleted {deleted} audit event{'' if deleted == 1 else 's'} older than {days_kept} days."
    )


def register_commands(app: Flask) -> None:
    app.cli.add_command(create_admin)
    app.cli.add_command(set_role)
    app.cli.add_command(storage_commands)
    app.cli.add_command(audit_commands)
