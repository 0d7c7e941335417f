"""Reading the audit trail: filters from a query string, one page of events (by keyset:
events older than a given id, so a page costs the same however large the table), each event
told as a sentence that names the people, keys and groups involved; and pruning it."""

import ipaddress
import time
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import sqlalchemy as sa

from webui.core import audit
from webui.core.audit import ACTIONS, FAMILIES
from webui.core.parsers import parse_whole_number, query_number
from webui.core.settings import get_setting
from webui.errors import ServiceError
from webui.extensions import db
from webui.models import ApiKey, AuditEvent, Group, User, now


@dataclass
class AuditFilters:
    action: Optional[str] = None
    actor_id: Optional[str] = None
    actor: Optional[str] = None  # part of a name or an email
    target: Optional[str] = None
    ip: Optional[str] = None
    before: Optional[int] = None  # only events with a smaller id (older): the next page
    per_page: int = 50


MAX_PER_PAGE = 500
MAX_ID = 10**18 - 1
FILTER_NAMES = ("action", "actor", "actor_id", "target", "ip", "before", "per_page")


def parse_filters(args) -> AuditFilters:
    """Validate query parameters (a dict-like of strings); 400 naming the bad one."""
    unknown = set(args) - set(FILTER_NAMES)
    if unknown:
        raise ServiceError(
            400, f"Unknown filter {sorted(unknown)[0]!r}: use {', '.join(FILTER_NAMES)}."
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
    for name, limit in (("actor_id", 36), ("actor", 254), ("target", 255)):
        if len(args.get(name) or "") > limit:
            raise ServiceError(400, f"{name} must be at most {limit} characters.")
    return AuditFilters(
        action=action,
        actor_id=args.get("actor_id") or None,
        actor=(args.get("actor") or "").strip() or None,
        target=args.get("target") or None,
        ip=ip,
        before=query_number(args, "before", None, 1, MAX_ID),
        per_page=query_number(args, "per_page", 50, 1, MAX_PER_PAGE),
    )


COUNT_LIMIT = 10_000  # matching events counted at most: a count reads every row it counts


@dataclass
class Page:
    events: list[AuditEvent]
    total: int  # matching events, counted up to COUNT_LIMIT
    total_capped: bool  # more than COUNT_LIMIT match
    next_before: Optional[int]  # ``before`` for the next (older) page; None on the last


def search(filters: AuditFilters) -> Page:
    """One page of matching events, newest first: those just older than ``before``, read
    through the id's index (never skipping over the newer ones)."""
    conditions = _conditions(filters)
    matching = sa.select(AuditEvent.id).where(*conditions).limit(COUNT_LIMIT + 1).subquery()
    counted = db.session.scalar(sa.select(sa.func.count()).select_from(matching))
    if filters.before is not None:
        conditions.append(AuditEvent.id < filters.before)
    events = list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(*conditions)
            .order_by(AuditEvent.id.desc())
            .limit(filters.per_page + 1)  # one more says whether an older page exists
        )
    )
    older = len(events) > filters.per_page
    events = events[: filters.per_page]
    total = min(counted, COUNT_LIMIT)
    return Page(events, total, counted > COUNT_LIMIT, events[-1].id if older else None)


def _conditions(filters: AuditFilters) -> list:
    conditions = []
    if filters.action in FAMILIES:
        # "key." <= action < "key/" ("/" follows "."): a range an index can read, unlike LIKE.
        family = filters.action
        conditions.extend([AuditEvent.action >= family + ".", AuditEvent.action < family + "/"])
    elif filters.action:
        conditions.append(AuditEvent.action == filters.action)
    for column, value in (
        (AuditEvent.actor_id, filters.actor_id),
        (AuditEvent.target, filters.target),
        (AuditEvent.ip, filters.ip),
    ):
        if value:
            conditions.append(column == value)
    if filters.actor:
        conditions.append(AuditEvent.actor_id.in_(_people_matching(filters.actor)))
    return conditions


# --- pruning ----------------------------------------------------------------------------

PRUNE_BATCH = 5000  # rows per transaction: a prune never holds the table for long
DAY = 86400
MAX_RETENTION_DAYS = 36500


def parse_prune_days(value: Any) -> int:
    """How many days of events a prune keeps, as typed; 400 naming the bounds."""
    try:
        return parse_whole_number(value, 1, MAX_RETENTION_DAYS)
    except ValueError as error:
        raise ServiceError(400, f"days {error}.") from None


def retention_days() -> int:
    """AUDIT_RETENTION_DAYS: events older than this many days may be pruned; 0 keeps all."""
    return get_setting("AUDIT_RETENTION_DAYS")


def prune(days: int, actor_id: Optional[str] = None) -> int:
    """Delete the events older than ``days`` days, PRUNE_BATCH rows per transaction, then
    record how many went (``audit.pruned``). Returns that number."""
    cutoff = now() - days * DAY
    deleted = 0
    while True:
        batch = sa.select(AuditEvent.id).where(AuditEvent.ts < cutoff).limit(PRUNE_BATCH)
        gone = db.session.execute(
            sa.delete(AuditEvent)
            .where(AuditEvent.id.in_(batch))
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        deleted += gone
        if gone < PRUNE_BATCH:
            break
    audit.audit_pruned(days, deleted, actor_id)
    db.session.commit()
    return deleted


def _people_matching(text: str) -> sa.Select:
    """Ids of the accounts whose name or email contains ``text``, ignoring case."""
    needle = text.lower()
    return sa.select(User.id).where(
        sa.or_(
            sa.func.lower(User.name).contains(needle, autoescape=True),
            sa.func.lower(User.email).contains(needle, autoescape=True),
        )
    )


# --- events as sentences ------------------------------------------------------------


@dataclass(frozen=True)
class Mention:
    """A person, key or group an event names; ``exists`` says whether it can be linked."""

    kind: str  # "user", "key" or "group"
    id: Optional[str]
    label: str
    exists: bool = False
    owner_id: Optional[str] = None  # a key's owner, for the inventory link


Sentence = list[Union[str, Mention]]


@dataclass
class Directory:
    """The accounts, keys and groups one page of events names, loaded in three queries."""

    users: dict[str, User] = field(default_factory=dict)
    keys: dict[str, ApiKey] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)

    def person(self, user_id: Optional[str], fallback: Optional[str] = None) -> Mention:
        user = self.users.get(user_id) if user_id else None
        if user is not None:
            return Mention("user", user.id, f"{user.name} ({user.email})", True)
        return Mention("user", user_id, fallback or "a deleted account")

    def key(self, key_id: Optional[str], detail: dict) -> Mention:
        api_key = self.keys.get(key_id) if key_id else None
        if api_key is not None:
            label = f"{api_key.name} ({api_key.prefix}…)"
            return Mention("key", api_key.id, label, True, api_key.user_id)
        name, prefix = detail.get("name"), detail.get("prefix") or detail.get("key_prefix")
        label = " ".join(part for part in (name, f"({prefix}…)" if prefix else None) if part)
        return Mention("key", key_id, label or "an unknown key", False, detail.get("owner_id"))

    def group(self, group_id: Optional[str], name: Optional[str]) -> Mention:
        group = self.groups.get(group_id) if group_id else None
        if group is not None:
            return Mention("group", group.id, group.name, True)
        return Mention("group", group_id, name or "a deleted group")


def _mentioned_ids(events: list[AuditEvent]) -> set[str]:
    ids: set[str] = set()
    for event in events:
        detail = _detail_of(event)
        owner = detail.get("owner_id")
        ids.update(filter(None, (event.actor_id, event.target, owner if _is_id(owner) else None)))
        if event.action == "user.owner_changed":
            ids.update(filter(_is_id, (detail.get("old"), detail.get("new"))))
        changes = detail.get("changes")
        members = changes.get("members") if isinstance(changes, dict) else None
        for side in ("added", "removed") if isinstance(members, dict) else ():
            ids.update(filter(_is_id, entries(members.get(side))[0]))
    return ids


def entries(value: Any) -> tuple[list, int]:
    """A recorded list's entries and how many it had: a list as it is, or the first
    entries and the count of one that was too long to keep (see ``audit.bounded_detail``)."""
    if isinstance(value, list):
        return value, len(value)
    if _is_cut_list(value):
        return value["first"], value["count"]
    return [], 0


def _is_cut_list(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {"count", "first"}
        and isinstance(value["first"], list)
        and isinstance(value["count"], int)
    )


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 36


def _detail_of(event: AuditEvent) -> dict:
    """The event's detail; a row of another shape reads as no detail."""
    return event.detail if isinstance(event.detail, dict) else {}


def directory_for(events: list[AuditEvent]) -> Directory:
    ids = _mentioned_ids(events)
    if not ids:
        return Directory()

    def load(model):
        return {
            row.id: row for row in db.session.scalars(sa.select(model).where(model.id.in_(ids)))
        }

    return Directory(users=load(User), keys=load(ApiKey), groups=load(Group))


def shown(value: Any) -> str:
    """A recorded value in words: on/off, 'nothing', lists and mappings spelled out."""
    if value is None or value == [] or value == "":
        return "nothing"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(shown(item) for item in value)
    if _is_cut_list(value):
        first, count = entries(value)
        return f"{shown(first)} … ({count} in all)"
    if isinstance(value, dict):
        return "; ".join(f"{name}: {shown(item)}" for name, item in value.items()) or "nothing"
    return str(value)


def _actor(event: AuditEvent, d: Directory) -> Union[str, Mention]:
    if event.actor_id:
        return d.person(event.actor_id)
    return "Someone not signed in"


def _key_restrictions(detail: dict) -> list[str]:
    restrictions = []
    if detail.get("read_only"):
        restrictions.append("read-only")
    if detail.get("rate_limit_per_minute"):
        restrictions.append(f"{detail['rate_limit_per_minute']} requests a minute")
    if detail.get("allowed_endpoints") is not None:
        restrictions.append(f"only {shown(detail['allowed_endpoints'])}")
    return restrictions


def _owned_by(event: AuditEvent, d: Directory, detail: dict) -> Sentence:
    owner_id = detail.get("owner_id")
    if owner_id and owner_id != event.actor_id:
        return [" of ", d.person(owner_id)]
    return []


def _key_created(event, d, detail) -> Sentence:
    restrictions = _key_restrictions(detail)
    tail = f" ({', '.join(restrictions)})" if restrictions else ""
    return [_actor(event, d), " created the API key ", d.key(event.target, detail), tail, "."]


def _key_removed(verb: str):
    def sentence(event, d, detail) -> Sentence:
        key = d.key(event.target, detail)
        reason = f" ({detail['reason']})" if detail.get("reason") else ""
        return [
            _actor(event, d),
            f" {verb} the API key ",
            key,
            *_owned_by(event, d, detail),
            f"{reason}.",
        ]

    return sentence


KEY_FIELD_WORDS = {
    "name": "name",
    "expires_at": "expiry",
    "allowed_endpoints": "allowed endpoints",
    "read_only": "read-only",
    "rate_limit_per_minute": "requests a minute",
    "previous_valid_until": "the previous secret's end (grace period ended)",
}


def _key_value(column: str, value: Any) -> str:
    """A key field's recorded value in words (expiry as a UTC time, none as 'never')."""
    if column in ("expires_at", "previous_valid_until"):
        if value is None:
            return "never"
        try:
            return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(value))
        except (OverflowError, OSError, ValueError, TypeError):
            return shown(value)
    if column == "allowed_endpoints" and value is None:
        return "all"
    return shown(value)


def _key_change(column: str, change: dict) -> str:
    """One changed field: old to new, or a list's additions and removals."""
    words = KEY_FIELD_WORDS.get(column, column)
    if "added" not in change and "removed" not in change:
        old, new = _key_value(column, change.get("old")), _key_value(column, change.get("new"))
        return f"{words} from {old} to {new}"
    parts = [
        f"{side} {shown(change[side])}"
        for side in ("added", "removed")
        if entries(change.get(side))[1]
    ]
    count = change.get("count")
    return f"{words}: {', '.join(parts) or 'reordered'} (now {count} entries)"


def _key_updated(event, d, detail) -> Sentence:
    changes = detail.get("changes") or {}
    said = "; ".join(_key_change(column, change) for column, change in changes.items())
    key = d.key(event.target, detail)
    return [
        _actor(event, d),
        " changed the API key ",
        key,
        *_owned_by(event, d, detail),
        f": {said}.",
    ]


def _secret_ends(prefix: Any, last_chars: Any) -> str:
    """A secret as its visible ends (rows from before rotation grace periods hold no end)."""
    return f"{shown(prefix)}…{last_chars if isinstance(last_chars, str) else ''}"


def _key_rotated(event, d, detail) -> Sentence:
    key = d.key(event.target, detail)
    old = _secret_ends(detail.get("old_prefix"), detail.get("old_last_chars"))
    new = _secret_ends(detail.get("prefix"), detail.get("last_chars"))
    until = detail.get("old_valid_until")
    then = (
        f"the old one works until {_key_value('expires_at', until)}"
        if until
        else "the old one no longer works"
    )
    return [
        _actor(event, d),
        " gave the API key ",
        key,
        *_owned_by(event, d, detail),
        f" a new secret ({old} replaced by {new}); {then}.",
    ]


def _key_used(event, d, detail) -> Sentence:
    key = d.key(event.target, detail)
    where = f" from {event.ip}" if event.ip else ""
    old_until = detail.get("old_secret_until")
    if old_until:
        return [
            "Old secret used: the API key ",
            key,
            " of ",
            d.person(event.actor_id),
            " was used with its previous secret",
            where,
            f" (it works until {_key_value('expires_at', old_until)}).",
        ]
    if detail.get("first_use"):
        return [
            "The API key ",
            key,
            " of ",
            d.person(event.actor_id),
            " was used for the first time",
            where,
            ".",
        ]
    previous = detail.get("previous_ip")
    since = f" (before: {previous})" if previous else ""
    return [
        "The API key ",
        key,
        " of ",
        d.person(event.actor_id),
        " was used from a new address",
        where,
        since,
        ".",
    ]


def _key_refused(event, d, detail) -> Sentence:
    status = detail.get("status")
    answer = f" (answered {status})" if status else ""
    reason = detail.get("reason") or "refused"
    if event.target:
        key: Union[str, Mention] = d.key(event.target, detail)
        owner: Sentence = [" of ", d.person(event.actor_id)] if event.actor_id else []
    elif (event.count or 1) > 1:  # bad keys of any prefix and address, counted together
        prefix = detail.get("key_prefix")
        first = f"; the first key began with {prefix}" if prefix else ""
        return [f"Requests with bad keys were refused: {reason}{answer}{first}."]
    else:
        prefix = detail.get("key_prefix")
        key, owner = (f"a key starting {prefix}" if prefix else "an unreadable key"), []
    return ["A request with ", key, *owner, f" was refused: {reason}{answer}."]


def _setting_changed(event, d, detail) -> Sentence:
    name = detail.get("field") or event.target or "a setting"
    if detail.get("secret"):
        return [
            _actor(event, d),
            f" changed the secret setting {name} (the value is not recorded).",
        ]
    if "group" in detail:
        group = d.group(event.target, detail.get("group"))
        return [
            _actor(event, d),
            " changed the permissions of the group ",
            group,
            f" from {shown(detail.get('old'))} to {shown(detail.get('new'))}.",
        ]
    what = "default permission" if event.action == "permissions.changed" else "setting"
    return [
        _actor(event, d),
        f" changed the {what} {name} from {shown(detail.get('old'))} "
        f"to {shown(detail.get('new'))}.",
    ]


def _role_changed(event, d, detail) -> Sentence:
    person = d.person(event.target, detail.get("email"))
    if detail.get("old") == "pending" and detail.get("new") == "user":
        return [_actor(event, d), " approved ", person, "."]
    return [
        _actor(event, d),
        " changed the role of ",
        person,
        f" from {shown(detail.get('old'))} to {shown(detail.get('new'))}.",
    ]


def _user_deleted(event, d, detail) -> Sentence:
    keys = entries(detail.get("keys_deleted"))[1]
    with_keys = f" and {keys} API key{'' if keys == 1 else 's'}" if keys else ""
    email, role = shown(detail.get("email")), shown(detail.get("role"))
    return [_actor(event, d), f" deleted the account {email} ({role}){with_keys}."]


def _signed_up(event, d, detail) -> Sentence:
    return [
        d.person(event.target, detail.get("email")),
        f" signed up and got the role {shown(detail.get('role'))}.",
    ]


def _user_created(event, d, detail) -> Sentence:
    person = d.person(event.target, detail.get("email"))
    return [
        _actor(event, d),
        " created the account ",
        person,
        f" with the role {shown(detail.get('role'))}.",
    ]


def _service_created(event, d, detail) -> Sentence:
    return [
        _actor(event, d),
        " created the service account ",
        d.person(event.target, detail.get("name")),
        ", owned by ",
        d.person(detail.get("owner_id")),
        ".",
    ]


def _owner_changed(event, d, detail) -> Sentence:
    why = " because its owner's account was deleted" if detail.get("reason") else ""
    return [
        _actor(event, d),
        " gave the service account ",
        d.person(event.target, detail.get("name")),
        " to ",
        d.person(detail.get("new")),
        " (before: ",
        d.person(detail.get("old")),
        f"){why}.",
    ]


def _group_event(verb: str):
    def sentence(event, d, detail) -> Sentence:
        return [
            _actor(event, d),
            f" {verb} the group ",
            d.group(event.target, detail.get("name")),
            ".",
        ]

    return sentence


def _group_updated(event, d, detail) -> Sentence:
    parts: Sentence = [
        _actor(event, d),
        " changed the group ",
        d.group(event.target, detail.get("name")),
    ]
    changes = detail.get("changes") or {}
    for name in ("name", "description"):
        if name in changes:
            old, new = shown(changes[name].get("old")), shown(changes[name].get("new"))
            parts.append(f"; {name} from {old} to {new}")
    members = changes.get("members") or {}
    for side, words in (("added", "; added "), ("removed", "; removed ")):
        first, count = entries(members.get(side))
        for index, member in enumerate(first):
            parts.extend([words if index == 0 else ", ", d.person(member)])
        if count > len(first):
            parts.append(f" … ({count} in all)")
    parts.append("." if len(parts) > 3 else " (nothing changed).")
    return parts


def _signed_in(event, d, detail) -> Sentence:
    return [d.person(event.actor_id or event.target, detail.get("email")), " signed in."]


def _sign_in_failed(event, d, detail) -> Sentence:
    if event.target:
        return [
            "A sign-in as ",
            d.person(event.target, detail.get("email")),
            " failed: wrong password.",
        ]
    return ["A sign-in with an email no account has failed."]


def _audit_pruned(event, d, detail) -> Sentence:
    deleted, days = detail.get("deleted"), detail.get("days")
    who: Union[str, Mention] = d.person(event.actor_id) if event.actor_id else "flask audit prune"
    return [
        who,
        f" deleted {deleted} audit event{'' if deleted == 1 else 's'} older than {days} days.",
    ]


SENTENCES = {
    "key.created": _key_created,
    "key.updated": _key_updated,
    "key.rotated": _key_rotated,
    "key.deleted": _key_removed("deleted"),
    "key.revoked": _key_removed("revoked"),
    "key.used": _key_used,
    "key.denied": _key_refused,
    "key.expired_used": _key_refused,
    "settings.changed": _setting_changed,
    "permissions.changed": _setting_changed,
    "user.role_changed": _role_changed,
    "user.deleted": _user_deleted,
    "user.signed_up": _signed_up,
    "user.created": _user_created,
    "user.service_created": _service_created,
    "user.owner_changed": _owner_changed,
    "group.created": _group_event("created"),
    "group.deleted": _group_event("deleted"),
    "group.updated": _group_updated,
    "signin.succeeded": _signed_in,
    "signin.failed": _sign_in_failed,
    "audit.pruned": _audit_pruned,
}


def _any_event(event, d, detail) -> Sentence:
    """Actions without a sentence of their own (added later): who, what, on which key or
    person, and the recorded facts in words."""
    family, _, verb = event.action.partition(".")
    parts: Sentence = [_actor(event, d), f" — {verb.replace('_', ' ') or family}"]
    if family == "key" and event.target:
        parts.extend([": the API key ", d.key(event.target, detail)])
    elif family == "user" and event.target:
        parts.extend([": ", d.person(event.target, detail.get("email"))])
    facts = {name: value for name, value in detail.items() if name not in ("prefix", "owner_id")}
    if facts:
        parts.append(f" ({shown(facts)})")
    parts.append(".")
    return parts


def describe(event: AuditEvent, d: Directory) -> Sentence:
    """The event in words, with the people, keys and groups it names as mentions."""
    detail = _detail_of(event)
    try:
        return SENTENCES.get(event.action, _any_event)(event, d, detail)
    except (AttributeError, TypeError, KeyError):
        # A row written by an older version with another shape: still readable.
        return _any_event(event, d, detail)


def sentences(events: list[AuditEvent]) -> dict[int, Sentence]:
    """Event id → its sentence, for one page of events."""
    directory = directory_for(events)
    return {event.id: describe(event, directory) for event in events}
