from flask import flash, g, redirect, render_template, request, url_for

from webui import settings
from webui.errors import ServiceError
from webui.groups import bp
from webui.groups.forms import EmptyForm, GroupForm
from webui.security.permissions import (
    CATALOG,
    DEFAULT_PERMISSION_SETTINGS,
    default_permissions,
    default_setting_name,
    nest,
    require_role,
)
from webui.services import accounts

PERMISSION_FIELD = "perm-"


def toggled_permissions() -> dict[str, bool]:
    """The permission checkboxes of the submitted form, every catalog entry listed."""
    return {name: PERMISSION_FIELD + name in request.form for name in CATALOG}


@bp.route("/groups", methods=["GET", "POST"])
@require_role("admin")
def index():
    form = GroupForm()
    if form.validate_on_submit():
        try:
            group = accounts.create_group(form.name.data, form.description.data)
        except ServiceError as error:
            form.name.errors.append(error.detail)
            flash(error.detail, "error")
        else:
            flash(f"Group {group.name!r} created. Choose its permissions and members.", "success")
            return redirect(url_for("groups.edit", group_id=group.id))
    return render_template("groups/index.html", form=form, groups=accounts.all_groups())


@bp.route("/groups/<group_id>", methods=["GET", "POST"])
@require_role("admin")
def edit(group_id: str):
    group = accounts.get_group_or_404(group_id)
    form = GroupForm(obj=group)
    granted = group.permissions or {}
    member_ids = {member.id for member in group.members}
    if form.validate_on_submit():
        granted = toggled_permissions()
        member_ids = set(request.form.getlist("member"))
        changes = {
            "name": form.name.data,
            "description": form.description.data,
            "permissions": nest(granted),
            "user_ids": sorted(member_ids),
        }
        try:
            accounts.update_group(group, changes)
        except ServiceError as error:
            flash(f"Nothing was saved: {error.detail}", "error")
        else:
            flash(f"Group {group.name!r} saved.", "success")
            return redirect(url_for("groups.edit", group_id=group.id))
    return render_template(
        "groups/edit.html",
        form=form,
        group=group,
        granted=granted,
        member_ids=member_ids,
        users=accounts.all_users(),
        empty=EmptyForm(),
    )


@bp.post("/groups/<group_id>/delete")
@require_role("admin")
def delete(group_id: str):
    group = accounts.get_group_or_404(group_id)
    if EmptyForm().validate_on_submit():
        accounts.delete_group(group)
        flash(f"Group {group.name!r} deleted.", "success")
    return redirect(url_for("groups.index"))


@bp.route("/permissions", methods=["GET", "POST"], endpoint="default_permissions")
@require_role("admin")
def default_permissions_page():
    form = EmptyForm()
    if form.validate_on_submit():
        changes = {default_setting_name(name): on for name, on in toggled_permissions().items()}
        valid = settings.validate_changes(changes, DEFAULT_PERMISSION_SETTINGS)
        settings.save_settings(valid, g.user.id)
        flash("Default permissions saved. They apply to every user at once.", "success")
        return redirect(url_for("groups.default_permissions"))
    return render_template("groups/permissions.html", form=form, values=default_permissions())
