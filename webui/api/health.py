"""The probes: /health says the process is up; /ready and /health/db say whether it can
serve, i.e. the database answers and holds this version's schema (core/schema.py)."""

import sqlalchemy as sa
from flask import jsonify
from sqlalchemy.exc import SQLAlchemyError

from webui.api import bp
from webui.api.declare import documented
from webui.core.apidoc import BOOLEAN, STRING, component, obj
from webui.core.schema import NO_ANSWER, SchemaState, schema_state
from webui.extensions import db
from webui.security.permissions import public

PROBE = component("Probe", obj({"status": BOOLEAN, "detail": STRING}, ("status",)))


@bp.get("/health")
@documented("Liveness: the process answers", "Server status", answers={200: PROBE})
@public
def health():
    """Liveness: the process answers, whatever the database says."""
    return jsonify(status=True)


@bp.get("/ready")
@documented(
    "Readiness: the database holds this version's schema",
    "Server status",
    answers={200: PROBE, 503: PROBE},
)
@public
def ready():
    """The schema is at this version's head (read once when it is, so no query then)."""
    return probe_answer(schema_state())


@bp.get("/health/db")
@documented(
    "The database answers now, and holds this version's schema",
    "Server status",
    answers={200: PROBE, 503: PROBE},
)
@public
def health_db():
    """The database answers now (one query), and holds this version's schema."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return probe_answer(SchemaState(False, NO_ANSWER))
    return probe_answer(schema_state())


def probe_answer(state: SchemaState):
    if state.ready:
        return jsonify(status=True)
    return jsonify(status=False, detail=state.reason), 503
