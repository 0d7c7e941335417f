"""Admin Panel > Groups and Default Permissions."""

from flask import flash, g, redirect, render_template, request, url_for

from webui.admin import bp
from webui.admin.forms import GroupForm
from webui.core.catalog import DEFAULT_PERMISSION_SETTINGS, PERMISSIONS, default_setting_name
from webui.errors import ServiceError
from webui.forms import EmptyForm
from webui.security.permissions import default_permissions, nest, require_role
from webui.services import configuration, groups, users

PERMISSION_FIELD = "perm-"


def toggled_permissions() -> dict[str, bool]:
    """The permission checkboxes of the submitted form, every catalog entry listed."""
    return {name: PERMISSION_FIELD + name in request.form for name in PERMISSIONS}


@bp.route("/groups", methods=["GET", "POST"])
@require_role("admin")
def groups_page():
    form = GroupForm()
    if form.validate_on_submit():
        try:
            group = groups.create_group(form.name.data, form.description.data)
        except ServiceError as error:
            form.name.errors.append(error.detail)
            flash(error.detail, "error")
        else:
            flash(f"Group {group.name!r} created. Choose its permissions and members.", "success")
            return redirect(url_for("admin.group_edit", group_id=group.id))
    return render_template("admin/groups.html", form=form, groups=groups.all_groups())


@bp.route("/groups/<group_id>", methods=["GET", "POST"])
@require_role("admin")
def group_edit(group_id: str):
    group = groups.get_group_or_404(group_id)
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
            groups.update_group(group, changes)
        except ServiceError as error:
            flash(f"Nothing was saved: {error.detail}", "error")
        else:
            flash(f"Group {group.name!r} saved.", "success")
            return redirect(url_for("admin.group_edit", group_id=group.id))
    return render_template(
        "admin/group_edit.html",
        form=form,
        group=group,
        granted=granted,
        member_ids=member_ids,
        users=users.all_users(),
        empty=EmptyForm(),
    )


@bp.post("/groups/<group_id>/delete")
@require_role("admin")
def group_delete(group_id: str):
    group = groups.get_group_or_404(group_id)
    if EmptyForm().validate_on_submit():
        groups.delete_group(group)
        flash(f"Group {group.name!r} deleted.", "success")
    return redirect(url_for("admin.groups_page"))


@bp.route("/permissions", methods=["GET", "POST"], endpoint="default_permissions")
@require_role("admin")
def default_permissions_page():
    form = EmptyForm()
    if form.validate_on_submit():
        changes = {default_setting_name(name): on for name, on in toggled_permissions().items()}
        configuration.save(changes, DEFAULT_PERMISSION_SETTINGS, g.principal.id)
        flash("Default permissions saved. They apply to every user at once.", "success")
        return redirect(url_for("admin.default_permissions"))
    return render_template("admin/permissions.html", form=form, values=default_permissions())
