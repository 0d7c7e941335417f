"""Admin Panel > Settings > Connections, and Admin Panel > Models (access and usage)."""

from dataclasses import replace

import sqlalchemy as sa
from flask import abort, flash, g, redirect, render_template, request, url_for

from webui.admin import bp
from webui.admin.connection_forms import (
    ApiSwitchesForm,
    ConnectionForm,
    ModelAccessForm,
    NewConnectionForm,
)
from webui.core.catalog import OPENAI
from webui.core.parsers import query_flag
from webui.core.settings import SettingError, get_settings
from webui.errors import ServiceError
from webui.extensions import db
from webui.forms import EmptyForm
from webui.models import Group
from webui.security.permissions import require_role
from webui.services import configuration, connections, llm_client, model_access
from webui.services.connections import KINDS, Connection
from webui.services.usage import totals_per_user

SWITCHES = ["ENABLE_OLLAMA_API", "ENABLE_OPENAI_API"]


# --- Connections ------------------------------------------------------------------------------


def connection_form(conn: Connection, formdata=None) -> ConnectionForm:
    return ConnectionForm(
        formdata=formdata,
        prefix=f"{conn.kind}-{conn.index}",
        data={"base_url": conn.base_url, "enabled": conn.enabled},
    )


def render_connections(
    status: int = 200, new_form=None, failed: Connection | None = None, failed_form=None
):
    """The page; a form that failed validation is shown again with its errors."""
    lists = {kind: connections.connections(kind) for kind in KINDS}
    forms = {
        (c.kind, c.index): failed_form if failed == c else connection_form(c)
        for kind in KINDS
        for c in lists[kind]
    }
    page = render_template(
        "admin/connections.html",
        switches=ApiSwitchesForm(formdata=None, data=get_settings(SWITCHES)),
        connections=lists,
        forms=forms,
        new_form=new_form or NewConnectionForm(formdata=None),
        empty=EmptyForm(),
        states={state.label: state for state in model_access.connection_states()},
    )
    return page, status


def find_connection(kind: str, index: int) -> Connection:
    if kind not in KINDS:
        abort(404)
    for conn in connections.connections(kind):
        if conn.index == index:
            return conn
    abort(404, f"There is no {connections.KIND_LABELS[kind]} connection #{index + 1}.")


def save(kind: str, items: list[Connection], message: str):
    try:
        connections.save_connections(kind, connections.reindexed(items), g.principal.id)
    except SettingError as error:
        flash(f"Nothing was saved: {error.message}.", "error")
        return render_connections(400)
    model_access.forget_models()
    flash(message, "success")
    return redirect(url_for("admin.settings_connections"))


@bp.get("/settings/connections")
@require_role("admin")
def settings_connections():
    return render_connections()


@bp.post("/settings/connections/switches")
@require_role("admin")
def save_connection_switches():
    form = ApiSwitchesForm()
    if not form.validate_on_submit():
        flash("Nothing was saved: reload the page and try again.", "error")
        return render_connections(400)
    changes = {name: getattr(form, name).data for name in SWITCHES}
    configuration.save(changes, SWITCHES, g.principal.id)
    model_access.forget_models()
    flash("Connection switches saved.", "success")
    return redirect(url_for("admin.settings_connections"))


@bp.post("/settings/connections/add")
@require_role("admin")
def add_connection():
    form = NewConnectionForm()
    if not form.validate_on_submit():
        flash("The connection was not added; see the highlighted fields.", "error")
        return render_connections(400, new_form=form)
    kind = form.kind.data
    items = connections.connections(kind)
    api_key = (form.api_key.data or "").strip() if kind == OPENAI else ""
    items.append(Connection(kind, len(items), form.base_url.data, api_key, form.enabled.data))
    return save(
        kind, items, f"Added {connections.KIND_LABELS[kind]} connection {form.base_url.data}."
    )


@bp.post("/settings/connections/<kind>/<int:index>")
@require_role("admin")
def update_connection(kind: str, index: int):
    conn = find_connection(kind, index)
    form = connection_form(conn, formdata=request.form)
    if not form.validate_on_submit():
        flash(f"{conn.label} was not saved; see the highlighted fields.", "error")
        return render_connections(400, failed=conn, failed_form=form)
    new_key = (form.api_key.data or "").strip()
    changed = replace(
        conn,
        base_url=form.base_url.data,
        api_key=new_key if new_key and kind == OPENAI else conn.api_key,
        enabled=form.enabled.data,
    )
    items = [changed if c.index == index else c for c in connections.connections(kind)]
    return save(kind, items, f"{conn.label} saved.")


@bp.post("/settings/connections/<kind>/<int:index>/delete")
@require_role("admin")
def delete_connection(kind: str, index: int):
    conn = find_connection(kind, index)
    if not EmptyForm().validate_on_submit():
        abort(400, "Reload the page and try again.")
    items = [c for c in connections.connections(kind) if c.index != index]
    return save(kind, items, f"Removed {conn.label} ({conn.base_url}).")


@bp.post("/settings/connections/<kind>/<int:index>/verify")
@require_role("admin")
def verify_connection(kind: str, index: int):
    conn = find_connection(kind, index)
    if not EmptyForm().validate_on_submit():
        abort(400, "Reload the page and try again.")
    ok, answer = llm_client.verify(conn)
    flash(f"{conn.label}: {answer}", "success" if ok else "error")
    return redirect(url_for("admin.settings_connections"))


# --- Models ---------------------------------------------------------------------------


def group_choices() -> list[tuple[str, str]]:
    return [
        (group.id, group.name)
        for group in db.session.scalars(sa.select(Group).order_by(Group.name))
    ]


def access_form(model_id: str, rule, choices) -> ModelAccessForm:
    form = ModelAccessForm(
        formdata=None,
        data={
            "model_id": model_id,
            "access": "public" if rule is None or rule.public else "restricted",
            "group_ids": [] if rule is None else list(rule.group_ids or []),
        },
    )
    form.group_ids.choices = choices
    return form


@bp.route("/models", methods=["GET", "POST"])
@require_role("admin")
def models():
    choices = group_choices()
    status = 200
    if request.method == "POST":
        form = ModelAccessForm()
        form.group_ids.choices = choices
        if form.validate_on_submit():
            try:
                model_access.set_access(
                    form.model_id.data,
                    form.access.data == "public",
                    form.group_ids.data,
                    g.principal.id,
                )
            except ServiceError as error:
                flash(error.detail, "error")
                status = 400
            else:
                flash(f"Access to {form.model_id.data} saved.", "success")
                return redirect(url_for("admin.models"))
        else:
            flash("Nothing was saved: choose public, or restricted with existing groups.", "error")
            status = 400
    refresh = query_flag(request.args, "refresh")
    rules = model_access.access_rules()
    listed = model_access.all_models(refresh=refresh)
    rows = [(model, access_form(model["id"], rules.get(model["id"]), choices)) for model in listed]
    return (
        render_template(
            "admin/models.html",
            rows=rows,
            groups=dict(choices),
            usage=totals_per_user(),
        ),
        status,
    )
