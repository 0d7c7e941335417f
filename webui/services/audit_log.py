"""Reading the audit trail: filters from a query string, one page of events."""

import ipaddress
from dataclasses import dataclass
from typing import Optional

import sqlalchemy as sa

from webui.core.audit import ACTIONS, FAMILIES
from webui.core.parsers import query_number
from webui.errors import ServiceError
from webui.extensions import db
from webui.models import AuditEvent, User


@dataclass
class AuditFilters:
    action: Optional[str] = None
    actor_id: Optional[str] = None
    target: Optional[str] = None
    ip: Optional[str] = None
    page: int = 1
    per_page: int = 50


MAX_PER_PAGE = 500


def parse_filters(args) -> AuditFilters:
    """Validate query parameters (a dict-like of strings); 400 naming the bad one."""
    unknown = set(args) - {"action", "actor_id", "target", "ip", "page", "per_page"}
    if unknown:
        raise ServiceError(
            400,
            f"Unknown filter {sorted(unknown)[0]!r}: "
            "use action, actor_id, target, ip, page, per_page.",
        )
    action = args.get("action") or None
    if action is not None and action not in ACTIONS and action not in FAMILIES:
        raise ServiceError(
            400, f"action must be one of {', '.join(ACTIONS)}, or a family such as 'key'."
        )
    ip = args.get("ip") or None
    if ip is not None:
        try:
            ip = str(ipaddress.ip_address(ip.strip()))
        except ValueError:
            raise ServiceError(
                400, f"ip must be an IP address such as 10.0.0.9, not {ip!r}."
            ) from None
    for name, limit in (("actor_id", 36), ("target", 255)):
        if len(args.get(name) or "") > limit:
            raise ServiceError(400, f"{name} must be at most {limit} characters.")
    return AuditFilters(
        action=action,
        actor_id=args.get("actor_id") or None,
        target=args.get("target") or None,
        ip=ip,
        page=query_number(args, "page", 1, 1, 1_000_000),
        per_page=query_number(args, "per_page", 50, 1, MAX_PER_PAGE),
    )


def search(filters: AuditFilters) -> tuple[list[AuditEvent], int]:
    """One page of matching events, newest first, and how many match in all."""
    conditions = []
    if filters.action in FAMILIES:
        conditions.append(AuditEvent.action.startswith(filters.action + "."))
    elif filters.action:
        conditions.append(AuditEvent.action == filters.action)
    for column, value in (
        (AuditEvent.actor_id, filters.actor_id),
        (AuditEvent.target, filters.target),
        (AuditEvent.ip, filters.ip),
    ):
        if value:
            conditions.append(column == value)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(*conditions))
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(*conditions)
        .order_by(AuditEvent.id.desc())
        .limit(filters.per_page)
        .offset((filters.page - 1) * filters.per_page)
    )
    return list(events), total


def actor_emails(user_ids: set[str]) -> dict[str, str]:
    """Actor ids → emails, one query; deleted users are simply absent."""
    if not user_ids:
        return {}
    return dict(
        db.session.execute(sa.select(User.id, User.email).where(User.id.in_(user_ids))).all()
    )
