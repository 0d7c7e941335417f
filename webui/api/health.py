"""The probes: /health says the process is up; /ready and /health/db say whether it can
serve, i.e. the database answers and holds this version's schema (core/schema.py)."""

import sqlalchemy as sa
from flask import jsonify
from sqlalchemy.exc import SQLAlchemyError

from webui.api import bp
from webui.core.schema import NO_ANSWER, SchemaState, schema_state
from webui.extensions import db
from webui.security.permissions import public


@bp.get("/health")
@public
def health():
    """Liveness: the process answers, whatever the database says."""
    return jsonify(status=True)


@bp.get("/ready")
@public
def ready():
    """The schema is at this version's head (read once when it is, so no query then)."""
    return probe_answer(schema_state())


@bp.get("/health/db")
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
