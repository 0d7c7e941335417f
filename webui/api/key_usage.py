"""Usage of one key over time, for its owner and for administrators."""

from flask import g, jsonify, request

from webui.api import bp
from webui.api.auths import ADMIN_TAG, EPOCH, KEYS_TAG
from webui.api.declare import documented
from webui.core.apidoc import INTEGER, STRING, array, component, enum, obj
from webui.security.permissions import require_role
from webui.services import key_usage

COUNTS = {
    "requests": INTEGER,
    "prompt_tokens": INTEGER,
    "completion_tokens": INTEGER,
    "total_tokens": INTEGER,
}
KEY_USAGE = component(
    "KeyUsage",
    obj(
        {
            "key_id": STRING,
            "bucket": enum(*key_usage.BUCKETS),
            "from": {**EPOCH, "description": "The window's start: the beginning of a UTC day."},
            "to": {**EPOCH, "description": "The window's end: now."},
            "series": {
                **array(
                    obj(
                        {
                            "start": {**EPOCH, "description": "The bucket's start."},
                            "model": STRING,
                            **COUNTS,
                        },
                        ("start", "model", *COUNTS),
                    )
                ),
                "description": "One entry per bucket and model that saw a request, oldest first.",
            },
            "totals": obj(COUNTS, tuple(COUNTS)),
        },
        ("key_id", "bucket", "from", "to", "series", "totals"),
    ),
)
WINDOW_QUERY = {
    "bucket": {
        **enum(*key_usage.BUCKETS),
        "default": "day",
        "description": "UTC days, ISO weeks or calendar months.",
    },
    "days": {
        **INTEGER,
        "minimum": 1,
        "maximum": key_usage.MAX_DAYS,
        "default": key_usage.DEFAULT_DAYS,
        "description": "The last this many UTC days, today included.",
    },
}


@bp.get("/api/v1/auths/api_keys/<key_id>/usage")
@documented(
    "Usage of one of your API keys",
    KEYS_TAG,
    query=WINDOW_QUERY,
    answers={200: KEY_USAGE},
    description="Requests and tokens per model and day, week or month; a deleted key's "
    "history stays readable.",
)
def own_key_usage(key_id: str):
    window = key_usage.parse_window(request.args)
    key_usage.check_own_key(g.principal, key_id)
    return jsonify(key_usage.series(key_id, window))


@bp.get("/api/v1/auths/admin/api_keys/<key_id>/usage")
@documented("Usage of anyone's API key", ADMIN_TAG, query=WINDOW_QUERY, answers={200: KEY_USAGE})
@require_role("admin")
def any_key_usage(key_id: str):
    window = key_usage.parse_window(request.args)
    key_usage.check_any_key(key_id)
    return jsonify(key_usage.series(key_id, window))
