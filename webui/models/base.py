"""Helpers every model module shares."""

import time
import uuid


def new_id() -> str:
    """An opaque identifier for users, groups, keys, files and collections."""
    return str(uuid.uuid4())


def now() -> int:
    """Current time in epoch seconds, the unit of every timestamp in the API."""
    return int(time.time())
