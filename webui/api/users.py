"""/api/v1/users: the admin's list of people, role changes, default permissions, and what
each caller may read about themselves (their permissions and groups)."""

from flask import g, jsonify, request

from webui.api import bp
from webui.api.declare import documented
from webui.api.groups import DONE, GROUP, PERMISSION_CHANGES, PERMISSION_SET
from webui.api.payloads import group_json, json_object, user_json
from webui.core.apidoc import INTEGER, STRING, Answer, array, component, enum, obj
from webui.core.catalog import DEFAULT_PERMISSION_SETTINGS, PERMISSIONS, default_setting_name
from webui.core.parsers import query_number
from webui.models import ROLES
from webui.security.permissions import (
    default_permissions,
    flatten,
    nest,
    permissions_of,
    require_role,
    session_only,
    user_permissions,
)
from webui.services import configuration, groups, users

PAGE_SIZE = 30  # Open WebUI's page of people
MAX_PAGE = 1_000_000
TAG = "Administration"
OWN = "Your account"

# --- what the routes declare (core/apidoc.py) ----------------------------------------------

ROLE = {**enum(*ROLES), "description": "pending: signed up, not approved yet."}
USER_FIELDS = {
    "id": STRING,
    "name": STRING,
    "email": STRING,
    "role": ROLE,
    "permissions": {
        **PERMISSION_SET,
        "description": "What the person may do: their role's, the defaults' and their groups'.",
    },
}
USER = component("User", obj(USER_FIELDS, tuple(USER_FIELDS), closed=True))
USER_INFO = component(
    "UserInfo",
    obj(
        {**USER_FIELDS, "created_at": {**INTEGER, "description": "Epoch seconds."}},
        (*USER_FIELDS, "created_at"),
        closed=True,
    ),
)
PEOPLE = {**array(USER), "description": "Oldest account first."}
PEOPLE_PAGE = obj(
    {"users": PEOPLE, "total": {**INTEGER, "description": "How many match, on every page."}},
    ("users", "total"),
)
ROLE_CHANGE = obj({"role": ROLE}, ("role",))
LAST_ADMIN = "It would leave no administrator."


def users_json(people: list) -> list[dict]:
    return [user_json(user, user_permissions(user)) for user in people]


@bp.get("/api/v1/users/")
@documented("Everyone's account", TAG, answers={200: obj({"users": PEOPLE}, ("users",))})
@require_role("admin")
def list_users():
    return jsonify(users=users_json(users.all_users()))


@bp.get("/api/v1/users/all")
@documented("Everyone's account, and how many", TAG, answers={200: PEOPLE_PAGE})
@require_role("admin")
def all_users():
    every = users.all_users()
    return jsonify(users=users_json(every), total=len(every))


@bp.get("/api/v1/users/search")
@documented(
    "Find people by name or email",
    TAG,
    query={
        "query": {
            **STRING,
            "description": "Text the name or the email holds, whatever the case; "
            "empty or left out finds everyone.",
        },
        "page": {
            **INTEGER,
            "minimum": 1,
            "maximum": MAX_PAGE,
            "default": 1,
            "description": f"Pages of {PAGE_SIZE} people, oldest account first.",
        },
    },
    answers={200: PEOPLE_PAGE},
)
@require_role("admin")
def search_users():
    page = query_number(request.args, "page", 1, 1, 1_000_000)
    found, total = users.search_users(
        request.args.get("query", ""), (page - 1) * PAGE_SIZE, PAGE_SIZE
    )
    return jsonify(users=users_json(found), total=total)


@bp.get("/api/v1/users/permissions")
@documented("What you may do", OWN, answers={200: PERMISSION_SET})
def my_permissions():
    return jsonify(nest(permissions_of(g.principal)))


@bp.get("/api/v1/users/groups")
@documented("The groups you belong to", OWN, answers={200: array(GROUP)})
def my_groups():
    mine = groups.groups_by_ids(g.principal.group_ids)
    return jsonify([group_json(group) for group in mine])


@bp.get("/api/v1/users/default/permissions/defaults")
@documented(
    "The permissions every user has out of the box",
    TAG,
    answers={200: PERMISSION_SET},
    description="The catalog's own defaults, whatever an administrator saved since.",
)
@require_role("admin")
def default_permission_defaults():
    return jsonify(nest({name: entry.default for name, entry in PERMISSIONS.items()}))


@bp.get("/api/v1/users/<user_id>")
@documented("A person's account", TAG, answers={200: USER})
@require_role("admin")
def read_user(user_id: str):
    user = users.get_user_or_404(user_id)
    return jsonify(user_json(user, user_permissions(user)))


@bp.get("/api/v1/users/<user_id>/info")
@documented("A person's account, and when it was made", TAG, answers={200: USER_INFO})
@require_role("admin")
def read_user_info(user_id: str):
    user = users.get_user_or_404(user_id)
    return jsonify({**user_json(user, user_permissions(user)), "created_at": user.created_at})


@bp.get("/api/v1/users/<user_id>/groups")
@documented("The groups a person belongs to", TAG, answers={200: array(GROUP)})
@require_role("admin")
def read_user_groups(user_id: str):
    return jsonify([group_json(group) for group in users.get_user_or_404(user_id).groups])


@bp.post("/api/v1/users/<user_id>/update")
@documented(
    "Change a person's role",
    TAG,
    body=ROLE_CHANGE,
    answers={200: USER, 409: Answer(description=LAST_ADMIN)},
    description="Other fields Open WebUI's form sends are ignored. A service account's "
    "role is always user.",
)
@require_role("admin")
@session_only
def update_user(user_id: str):
    changed = users.change_role(users.get_user_or_404(user_id), json_object()["role"])
    return jsonify(user_json(changed, user_permissions(changed)))


@bp.delete("/api/v1/users/<user_id>")
@documented(
    "Delete a person's account and everything it owns",
    TAG,
    answers={
        200: DONE,
        409: Answer(
            description=f"{LAST_ADMIN} Or the account owns service accounts and is "
            "deleting itself: another administrator must, so that they pass to someone."
        ),
    },
    description="Their service accounts pass to the administrator who deletes it.",
)
@require_role("admin")
@session_only
def delete_user(user_id: str):
    users.delete_user(users.get_user_or_404(user_id), g.principal.id)
    return jsonify(True)


@bp.get("/api/v1/users/default/permissions")
@documented("The permissions every user has", TAG, answers={200: PERMISSION_SET})
@require_role("admin")
def read_default_permissions():
    return jsonify(nest(default_permissions()))


@bp.post("/api/v1/users/default/permissions")
@documented(
    "Change the permissions every user has",
    TAG,
    body=PERMISSION_CHANGES,
    answers={200: PERMISSION_SET},
    description="Groups grant more on top of these. Answers every default as saved.",
)
@require_role("admin")
@session_only
def save_default_permissions():
    flat = flatten(json_object())  # the declared body holds only the catalog's, true or false
    changes = {default_setting_name(name): granted for name, granted in flat.items()}
    configuration.save(changes, DEFAULT_PERMISSION_SETTINGS, g.principal.id)
    return jsonify(nest(default_permissions()))
