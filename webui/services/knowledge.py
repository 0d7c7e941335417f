"""Knowledge collections: who may read and change them, and what they hold.

The owner and admins may change a collection; the groups it is shared with
may read it. To everyone else it does not exist (404, like an unknown id).
"""

import io
import zipfile
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from webui.core.parsers import group_id_list, parse_field, unique
from webui.errors import ServiceError
from webui.extensions import db
from webui.models import File, Group, Knowledge, group_members, knowledge_groups
from webui.security.principal import Principal
from webui.services import files as file_service

MAX_NAME = 100
MAX_DESCRIPTION = 1000


def _shared_with(user: Principal) -> sa.Select:
    """Ids of collections shared with a group the user belongs to."""
    return (
        sa.select(knowledge_groups.c.knowledge_id)
        .join(group_members, group_members.c.group_id == knowledge_groups.c.group_id)
        .where(group_members.c.user_id == user.id)
    )


def readable_query(user: Principal) -> sa.Select:
    query = sa.select(Knowledge)
    if user.is_admin:
        return query
    return query.where(sa.or_(Knowledge.user_id == user.id, Knowledge.id.in_(_shared_with(user))))


def list_readable(user: Principal) -> list[Knowledge]:
    return list(db.session.scalars(readable_query(user).order_by(Knowledge.name, Knowledge.id)))


def may_change(user: Principal, knowledge: Knowledge) -> bool:
    return user.is_admin or knowledge.user_id == user.id


def get_readable(user: Principal, knowledge_id: str) -> Knowledge:
    knowledge = db.session.scalar(readable_query(user).where(Knowledge.id == knowledge_id))
    if knowledge is None:
        raise ServiceError(404, f"Knowledge collection not found: {knowledge_id}.")
    return knowledge


def get_changeable(user: Principal, knowledge_id: str) -> Knowledge:
    knowledge = get_readable(user, knowledge_id)
    if not may_change(user, knowledge):
        raise ServiceError(
            403, "Only the owner of this collection or an administrator can change it."
        )
    return knowledge


# --- validation ------------------------------------------------------------------------


def clean_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ServiceError(400, "name is required: give the collection a name.")
    if len(name.strip()) > MAX_NAME:
        raise ServiceError(400, f"name must be at most {MAX_NAME} characters.")
    return name.strip()


def clean_description(description: Any) -> str:
    if description is None:
        return ""
    if not isinstance(description, str):
        raise ServiceError(400, "description must be a string.")
    if len(description) > MAX_DESCRIPTION:
        raise ServiceError(400, f"description must be at most {MAX_DESCRIPTION} characters.")
    return description.strip()


def groups_to_share_with(
    user: Principal, group_ids: Any, already: Iterable[Group] = ()
) -> list[Group]:
    """The groups a collection is to be shared with. Admins may choose any group; others only
    groups they belong to, besides those it is already shared with (which they may keep)."""
    groups = groups_by_id(group_ids)
    if not user.is_admin:
        allowed = user.group_ids | {group.id for group in already}
        foreign = [group for group in groups if group.id not in allowed]
        if foreign:
            raise ServiceError(
                400,
                f"You can share a collection only with groups you belong to; you are not in "
                f"{foreign[0].name!r}.",
            )
    return groups


def groups_by_id(group_ids: Any) -> list[Group]:
    wanted = set(parse_field("group_ids", group_id_list, group_ids))
    groups = (
        list(db.session.scalars(sa.select(Group).where(Group.id.in_(wanted)))) if wanted else []
    )
    missing = wanted - {group.id for group in groups}
    if missing:
        raise ServiceError(404, f"Unknown group id: {sorted(missing)[0]}.")
    return groups


# --- changes ---------------------------------------------------------------------------


def create(user: Principal, name: Any, description: Any = None, group_ids: Any = None) -> Knowledge:
    knowledge = Knowledge(
        user_id=user.id, name=clean_name(name), description=clean_description(description)
    )
    knowledge.groups = groups_to_share_with(user, group_ids or [])
    db.session.add(knowledge)
    db.session.commit()
    return knowledge


def update(user: Principal, knowledge: Knowledge, changes: dict[str, Any]) -> Knowledge:
    """Apply any of name, description, group_ids; all are checked before anything is saved."""
    name = clean_name(changes["name"]) if "name" in changes else knowledge.name
    description = (
        clean_description(changes["description"])
        if "description" in changes
        else knowledge.description
    )
    groups = (
        groups_to_share_with(user, changes["group_ids"], knowledge.groups)
        if "group_ids" in changes
        else None
    )
    knowledge.name, knowledge.description = name, description
    if groups is not None:
        knowledge.groups = groups
    db.session.commit()
    return knowledge


def check_indexed(file: File) -> None:
    """Only indexed files may join a collection: say why this one may not."""
    if file.status == "pending":
        raise ServiceError(
            400,
            f"File {file.id} has not been processed yet (it was uploaded with process=false): "
            "process it with POST /api/v1/retrieval/process/file before adding it.",
        )
    if file.status != "completed":
        raise ServiceError(
            400, f"File {file.id} could not be indexed, so it cannot be searched: {file.error}"
        )


def add_file(knowledge: Knowledge, file: File) -> Knowledge:
    """Add an indexed file; adding one that is already there changes nothing."""
    return add_files(knowledge, [file])


def add_files(knowledge: Knowledge, files: list[File]) -> Knowledge:
    """Add indexed files, all or none: every file is checked before any is added."""
    for file in files:
        check_indexed(file)
    present = {file.id for file in knowledge.files}
    for file in unique(files):
        if file.id not in present:
            knowledge.files.append(file)
    db.session.commit()
    return knowledge


def store_and_add(user: Principal, knowledge: Knowledge, upload) -> File:
    """Store an upload, index it and add it to the collection. A file that cannot be indexed
    is deleted again (and the refusal says why), so nothing is left half-added."""
    file = file_service.store_upload(user, upload, process=True)
    if file.status != "completed":
        reason = (file.error or "its text could not be read").removeprefix(
            file_service.STORED_ONLY  # it is not kept, so not stored either
        )
        file_service.delete_file(file)
        raise ServiceError(400, f"the file could not be indexed, so it was not kept: {reason}")
    add_file(knowledge, file)
    return file


def remove_file(knowledge: Knowledge, file_id: str) -> Knowledge:
    file = next((f for f in knowledge.files if f.id == file_id), None)
    if file is None:
        raise ServiceError(404, f"File {file_id} is not in this collection.")
    knowledge.files.remove(file)
    db.session.commit()
    return knowledge


def delete(knowledge: Knowledge) -> None:
    """Delete the collection; its files stay."""
    db.session.delete(knowledge)
    db.session.commit()


def file_ids_of(collections: Iterable[Knowledge]) -> list[str]:
    return [file.id for knowledge in collections for file in knowledge.files]


# --- the rest of Open WebUI's knowledge routes ----------------------------------------------


def search_readable(
    user: Principal, text: Any, skip: int, limit: int
) -> tuple[list[Knowledge], int]:
    """Readable collections whose name or description contains ``text``, a page and the total."""
    query = readable_query(user)
    if isinstance(text, str) and text.strip():
        needle = text.strip().lower()
        query = query.where(
            sa.or_(
                sa.func.lower(Knowledge.name).contains(needle, autoescape=True),
                sa.func.lower(Knowledge.description).contains(needle, autoescape=True),
            )
        )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    page = db.session.scalars(
        query.order_by(Knowledge.name, Knowledge.id).offset(skip).limit(limit)
    )
    return list(page), total


def reset(knowledge: Knowledge) -> Knowledge:
    """Empty the collection; its files stay."""
    knowledge.files = []
    db.session.commit()
    return knowledge


def export_zip(knowledge: Knowledge) -> bytes:
    """A zip holding each file's extracted text as ``<name>.txt`` (names made unique)."""
    buffer = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in knowledge.files:
            name, number = f"{file.filename}.txt", 1
            while name in used:
                number += 1
                name = f"{file.filename} ({number}).txt"
            used.add(name)
            archive.writestr(name, "\n".join(chunk.text for chunk in file.chunks))
    return buffer.getvalue()
