"""Dormant keys: the administrator may disable keys unused for more than N days.

The guard decides from the key's row (last use, creation, ``disabled_at``), which the one
lookup statement already brings, and the settings it already holds, so an accepted request
costs nothing more. The first refusal of a dormant key records it: one conditional UPDATE
and an audit row."""

import logging
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from webui.core import audit
from webui.core.settings import get_setting
from webui.extensions import db
from webui.models import ApiKey, now
from webui.models.keys import DORMANT
from webui.security.principal import KeyInfo

log = logging.getLogger(__name__)


def dormant_days() -> Optional[int]:
    """The policy: keys unused for more than this many days are disabled; None: never."""
    return get_setting("API_KEYS_DISABLE_UNUSED_DAYS")


def refusal_detail(days: Optional[int]) -> str:
    after = f"after {days} days" if days is not None else "after a long time"
    return f"This key was disabled {after} without use; its owner can re-enable it in Settings."


def dormancy_refusal(api_key: KeyInfo) -> Optional[str]:
    """The detail of a 403 when the key is disabled or has just become dormant (recorded
    then); None for a key in use."""
    days = dormant_days()
    if api_key.disabled_at is not None:
        return refusal_detail(days)
    if not api_key.is_dormant(days):
        return None
    record_dormant(api_key, days)
    return refusal_detail(days)


def record_dormant(api_key: KeyInfo, days: int) -> None:
    """Mark the key disabled, once (a parallel request may have done it), with its audit row."""
    try:
        updated = db.session.execute(
            sa.update(ApiKey)
            .where(ApiKey.id == api_key.id, ApiKey.disabled_at.is_(None))
            .values(disabled_at=now(), disabled_reason=DORMANT)
            .execution_options(synchronize_session=False)
        )
        if updated.rowcount:
            audit.key_disabled(api_key, DORMANT, days)
        db.session.commit()
    except SQLAlchemyError:
        # The refusal stands whether or not it could be recorded.
        db.session.rollback()
        log.warning("could not record dormant API key %s", api_key.id, exc_info=True)
