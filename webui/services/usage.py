"""Usage per key: one row per chat completion, and the summaries people see."""

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from webui.extensions import db
from webui.models import Usage, User
from webui.security.principal import Principal

log = logging.getLogger(__name__)


def tokens_reported(answer: Any) -> Optional[dict[str, Optional[int]]]:
    """Token counts in an OpenAI answer ("usage") or an Ollama one (eval counts), if any."""
    if not isinstance(answer, dict):
        return None
    usage = answer.get("usage")
    if isinstance(usage, dict):
        return {
            "prompt_tokens": _count(usage.get("prompt_tokens")),
            "completion_tokens": _count(usage.get("completion_tokens")),
            "total_tokens": _count(usage.get("total_tokens")),
        }
    if "prompt_eval_count" in answer or "eval_count" in answer:
        prompt, completion = (
            _count(answer.get("prompt_eval_count")),
            _count(answer.get("eval_count")),
        )
        total = (
            (prompt or 0) + (completion or 0)
            if prompt is not None or completion is not None
            else None
        )
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}
    return None


def _count(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


@dataclass
class StreamWatcher:
    """Reads a passing SSE or NDJSON stream line by line for token counts and the end marker."""

    tokens: Optional[dict] = None
    saw_done: bool = False
    _partial: bytes = field(default=b"", repr=False)

    def feed(self, chunk: bytes) -> None:
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            self._read_line(line.strip())

    def _read_line(self, line: bytes) -> None:
        if line.startswith(b"data:"):
            line = line[5:].strip()
            if line == b"[DONE]":
                self.saw_done = True
                return
        # Only the few lines that can carry counts are parsed.
        if b"usage" not in line and b"eval_count" not in line:
            return
        try:
            tokens = tokens_reported(json.loads(line))
        except ValueError:
            return
        if tokens is not None:
            self.tokens = tokens


def record(
    user_id: str,
    api_key_id: Optional[str],
    endpoint: str,
    model: str,
    status: int,
    stream: bool = False,
    tokens: Optional[dict] = None,
) -> None:
    """Store one completion; bookkeeping never fails the answer it describes."""
    try:
        db.session.add(
            Usage(
                user_id=user_id,
                api_key_id=api_key_id,
                endpoint=endpoint,
                model=model[:255],
                status=status,
                stream=stream,
                **(tokens or {}),
            )
        )
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("could not record usage of %s by user %s", model, user_id, exc_info=True)


def usage_by_key(user_id: str) -> dict[Optional[str], dict[str, Any]]:
    """{key id (None: the browser): {"requests": n, "last_model": model}} for one person."""
    counts = db.session.execute(
        sa.select(Usage.api_key_id, sa.func.count(), sa.func.max(Usage.id))
        .where(Usage.user_id == user_id)
        .group_by(Usage.api_key_id)
    ).all()
    latest = {
        row.id: row
        for row in db.session.scalars(sa.select(Usage).where(Usage.id.in_([c[2] for c in counts])))
    }
    return {
        key_id: {
            "requests": requests,
            "last_model": latest[last_id].model,
            "last_at": latest[last_id].created_at,
        }
        for key_id, requests, last_id in counts
    }


def totals_per_user() -> list[dict[str, Any]]:
    """For the admin: requests, failures and tokens per person, busiest first."""
    failed = sa.func.sum(sa.case((Usage.status >= 400, 1), else_=0))
    rows = db.session.execute(
        sa.select(
            User,
            sa.func.count(Usage.id),
            failed,
            sa.func.sum(Usage.prompt_tokens),
            sa.func.sum(Usage.completion_tokens),
            sa.func.count(sa.distinct(Usage.api_key_id)),
            sa.func.max(Usage.created_at),
        )
        .join(Usage, Usage.user_id == User.id)
        .group_by(User.id)
        .order_by(sa.func.count(Usage.id).desc(), User.email)
    ).all()
    return [
        {
            "user": user,
            "requests": requests,
            "failed": int(failures or 0),
            "prompt_tokens": int(prompt or 0),
            "completion_tokens": int(completion or 0),
            "keys_used": keys,
            "last_at": last_at,
        }
        for user, requests, failures, prompt, completion, keys, last_at in rows
    ]


@dataclass
class Meter:
    """One metered call, recorded once when its outcome is known.

    Holds plain ids: a stream ends after its request is gone."""

    user_id: str
    api_key_id: Optional[str]
    endpoint: str
    model: str
    stream: bool = False
    recorded: bool = False

    @classmethod
    def start(cls, principal: Principal, endpoint: str, model: str, stream: bool):
        key_id = principal.key.id if principal.key is not None else None
        return cls(principal.id, key_id, endpoint, model, stream)

    def done(self, status: int, tokens: Optional[dict] = None) -> None:
        if not self.recorded:
            self.recorded = True
            record(
                self.user_id,
                self.api_key_id,
                self.endpoint,
                self.model,
                status,
                self.stream,
                tokens,
            )
