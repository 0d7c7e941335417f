"""/api/v1/auths (OW): the signed-in person changes their name or password, or signs out.

Browser sessions only, as the Settings > Account page: a key cannot change its owner's
password or end their session. Kept apart from ``auths.py`` (sign-in and keys).
"""

from flask import g, jsonify

from webui.api import bp
from webui.api.auths import ACCOUNT, ACCOUNT_TAG, DONE, PASSWORD
from webui.api.declare import documented
from webui.api.payloads import json_object, user_json
from webui.core.apidoc import STRING, obj
from webui.errors import ServiceError
from webui.security.permissions import allow_pending, permissions_of, session_only
from webui.services import users
from webui.signin import sign_out, this_session

NEW_NAME = obj({"name": {**STRING, "description": "At most 100 characters."}}, ("name",))
NEW_PASSWORD = obj(
    {"password": {**STRING, "description": "Your current password."}, "new_password": PASSWORD},
    ("password", "new_password"),
)


@bp.post("/api/v1/auths/update/profile")
@documented("Change your name", ACCOUNT_TAG, body=NEW_NAME, answers={200: ACCOUNT})
@session_only
def update_profile():
    users.rename(g.principal.id, users.clean_name(json_object().get("name")))
    user = users.get_user_or_404(g.principal.id)
    return jsonify(user_json(user, permissions_of(g.principal)))


@bp.post("/api/v1/auths/update/password")
@documented(
    "Change your password",
    ACCOUNT_TAG,
    body=NEW_PASSWORD,
    answers={200: DONE},
    description="Signs you out of every other browser.",
)
@session_only
def update_password():
    body = json_object()
    current, new = body.get("password"), users.check_new_password(body.get("new_password"))
    if not isinstance(current, str) or not users.change_password(
        g.principal.id, current, new, this_session()
    ):
        raise ServiceError(400, "password is not your current password; nothing was changed.")
    return jsonify(True)


@bp.post("/api/v1/auths/signout")
@documented(
    "Sign out",
    ACCOUNT_TAG,
    answers={200: obj({"status": {"const": True}}, ("status",))},
    description="Ends this browser session.",
)
@session_only
@allow_pending
def signout():
    sign_out()
    return jsonify(status=True)
