"""Uploaded files: the bytes in the configured storage (``core/storage.py``: the local
UPLOAD_DIR or an S3-compatible bucket), metadata and chunks in the database.

The bytes are stored under the generated id, never under the client's name. An upload is
staged in a local file, stored once its row is flushed, and the row committed last; any
failure removes what was stored, and a storage outage is a 503 that changes nothing, so there
are no bytes without a row and no row without bytes.
"""

import hashlib
import io
import logging
import mimetypes
import os
import re
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from typing import IO

import sqlalchemy as sa
from flask import current_app, g
from werkzeug.datastructures import FileStorage

from webui.core.settings import get_setting
from webui.core.storage import (
    LocalStorage,
    MissingObject,
    Storage,
    StorageUnavailable,
    StoredObject,
    current_storage,
)
from webui.errors import ServiceError
from webui.extensions import db
from webui.models import File, FileChunk, User, new_id
from webui.security.principal import Principal
from webui.services import extract, extract_process, fulltext

log = logging.getLogger(__name__)

MB = 1024 * 1024
# Room for the multipart envelope (boundaries, headers, a CSRF field) around the file.
MULTIPART_ALLOWANCE = 64 * 1024
COPY_BLOCK = 256 * 1024
MAX_FILENAME = 255
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
CONTENT_TYPE_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
# Served as declared; anything else (HTML, SVG, XML, scripts…) goes out as octet-stream.
PASSIVE_CONTENT_TYPES = {
    "text/plain",
    "text/csv",
    "text/markdown",
    "application/json",
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
}


def max_upload_bytes() -> int:
    return get_setting("FILE_MAX_SIZE_MB") * MB


def too_large_message() -> str:
    limit = get_setting("FILE_MAX_SIZE_MB")
    return (
        f"The file is larger than the {limit} MB upload limit; an administrator can raise "
        "it with the FILE_MAX_SIZE_MB setting."
    )


# --- names and types ------------------------------------------------------------------


def safe_filename(raw: str | None) -> str:
    """A display name: the last path component, without control characters, at most 255 long."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        ch
        for ch in name
        if unicodedata.category(ch) not in ("Cc", "Cs") and ch not in BIDI_CONTROLS
    ).strip()
    if name in ("", ".", ".."):
        return "file"
    if len(name) > MAX_FILENAME:
        stem, extension = os.path.splitext(name)
        extension = extension if len(extension) <= 16 else ""
        name = stem[: MAX_FILENAME - len(extension)].rstrip() + extension
    return name


def clean_content_type(declared: str | None, filename: str) -> str:
    declared = (declared or "").strip().lower()
    if declared != "application/octet-stream" and CONTENT_TYPE_RE.match(declared):
        return declared
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


# --- storing ---------------------------------------------------------------------------


def remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError:
        log.warning("could not remove %s", path, exc_info=True)


def owner_only(path: str, flags: int) -> int:
    """An ``open`` opener: a new file readable by the app's own user alone."""
    return os.open(path, flags, 0o600)


def copy_limited(source: IO[bytes], target_path: str, limit: int) -> tuple[int, str]:
    """Copy to target_path; returns (size, sha256). 413 as soon as the limit is passed."""
    digest = hashlib.sha256()
    size = 0
    with open(target_path, "xb", opener=owner_only) as target:
        while block := source.read(COPY_BLOCK):
            size += len(block)
            if size > limit:
                raise ServiceError(413, too_large_message())
            digest.update(block)
            target.write(block)
    return size, digest.hexdigest()


def unavailable(outcome: str, error: StorageUnavailable) -> ServiceError:
    """The 503 of a storage outage; ``outcome`` says what did not happen."""
    log.error("file storage is unreachable: %s", error)
    return ServiceError(
        503,
        f"{outcome}: the file storage cannot be reached right now. Try again in a moment; "
        "the error was logged.",
    )


def forget_bytes(name: str) -> None:
    """Remove stored bytes whose row is gone or was never written; an outage is logged, since
    the caller is already answering for another reason."""
    try:
        current_storage().delete(name)
    except StorageUnavailable as error:
        log.error("stored bytes %s have no row and could not be removed: %s", name, error)


def store_upload(user: Principal, upload: FileStorage, process: bool = True) -> File:
    """Save an upload and, unless told not to, extract and chunk its text.

    The bytes are staged in a local file within the size limit, read for their text, then
    stored while the row is flushed but not committed; the row is committed only once the bytes
    are stored, and any failure removes what was stored."""
    fulltext.ensure_index()
    name = safe_filename(upload.filename)
    file = File(
        id=new_id(),
        user_id=user.id,
        filename=name,
        content_type=clean_content_type(upload.mimetype, name),
        status="pending",
    )
    file.path = file.id
    storage = current_storage()
    os.makedirs(storage.staging_folder, mode=0o700, exist_ok=True)  # in case it was cleaned away
    staged = os.path.join(storage.staging_folder, f".{file.id}.part")
    sent = False  # once the bytes may have reached the storage, a failure must remove them
    try:
        file.size, file.sha256 = copy_limited(upload.stream, staged, max_upload_bytes())
        if file.size == 0:
            raise ServiceError(400, "The file is empty; there is nothing to upload.")
        if process:
            with open(staged, "rb") as handle:
                index_file(file, handle)
        db.session.add(file)
        db.session.flush()
        sent = True
        try:
            storage.put(file.path, staged)
        except StorageUnavailable as error:
            raise unavailable("The file was not saved", error) from None
        db.session.commit()
    except BaseException:
        db.session.rollback()
        if sent:
            forget_bytes(file.path)
        raise
    finally:
        remove_quietly(staged)
    return file


def open_stored(file: File) -> StoredObject:
    """The stored bytes of a file, to be read as a stream: 404 when they are missing, 503 when
    the storage cannot be reached."""
    try:
        return current_storage().open(file.path)
    except MissingObject:
        log.error("file %s has a row but no stored bytes", file.id)
        raise ServiceError(404, f"The stored bytes of file {file.id} are missing.") from None
    except StorageUnavailable as error:
        raise unavailable("The file cannot be read", error) from None


@contextmanager
def local_copy(file: File) -> Iterator[IO[bytes]]:
    """The stored bytes as a local file, which the extraction child reads as its stdin."""
    stored = open_stored(file)
    with closing(stored.stream):
        if stored.seekable:  # the local backend's own file
            yield stored.stream
            return
        with tempfile.TemporaryFile(dir=current_storage().staging_folder) as copy:
            try:
                shutil.copyfileobj(stored.stream, copy, COPY_BLOCK)
            except StorageUnavailable as error:
                raise unavailable("The file cannot be read", error) from None
            copy.seek(0)
            yield copy


# --- extraction ---------------------------------------------------------------------------


def extraction_limits() -> extract_process.ExtractionLimits:
    config = current_app.config
    return extract_process.ExtractionLimits(
        max_characters=config["EXTRACT_MAX_CHARACTERS"],
        max_chunks=config["EXTRACT_MAX_CHUNKS"],
        cpu_seconds=config["EXTRACT_CPU_SECONDS"],
        timeout_seconds=config["EXTRACT_TIMEOUT_SECONDS"],
        memory_mb=config["EXTRACT_MEMORY_MB"],
    )


INDEX_AGAIN = "index it again (Workspace > Files, or POST /api/v1/retrieval/process/file)"


class ExtractionBudget:
    """What one request may spend on reading text, over all of its files: how many files,
    and seconds of wall-clock time (waiting for a free extraction slot included)."""

    def __init__(self, files: int, seconds: float):
        self.files, self.seconds = files, seconds
        self.files_left, self.seconds_left = files, float(seconds)

    def refusal(self) -> str | None:
        """Why no more files are read in this request, or None while some budget is left."""
        if self.files_left <= 0:
            return (
                f"One request reads the text of at most {self.files} files; {INDEX_AGAIN} "
                "in another request."
            )
        if self.seconds_left <= 0:
            return self.time_ran_out()
        return None

    def time_ran_out(self) -> str:
        return (
            f"This request's time for reading text ({self.seconds:g} s for all of its files) "
            f"ran out before this file was read; {INDEX_AGAIN}."
        )

    @contextmanager
    def spending(self) -> Iterator[float]:
        """Spend one file, and the time the block takes; yields the monotonic deadline."""
        started = time.monotonic()
        self.files_left -= 1
        try:
            yield started + self.seconds_left
        finally:
            self.seconds_left -= time.monotonic() - started


def request_budget() -> ExtractionBudget:
    """The budget of the request being served: every path that extracts spends from it, so no
    request reads text without end, however many files it names."""
    if "extraction_budget" not in g:
        config = current_app.config
        g.extraction_budget = ExtractionBudget(
            config["EXTRACT_MAX_FILES_PER_REQUEST"], config["EXTRACT_REQUEST_SECONDS"]
        )
    return g.extraction_budget


def extraction_slots() -> extract_process.ExtractionSlots:
    """This server process's slots (one app per process, so kept with the app)."""
    slots = current_app.extensions.get("extraction_slots")
    if slots is None:
        config = current_app.config
        made = extract_process.ExtractionSlots(
            config["EXTRACT_CONCURRENCY"], config["EXTRACT_QUEUE"]
        )
        # setdefault: of two requests making them at once, both use the first one stored.
        slots = current_app.extensions.setdefault("extraction_slots", made)
    return slots


def server_busy() -> ServiceError:
    """The 503 of a full extraction queue: nothing was stored or changed."""
    wait = current_app.config["EXTRACT_QUEUE_SECONDS"]
    return ServiceError(
        503,
        "The server is reading the text of too many files at once; nothing was stored or "
        "changed. Try again in a minute.",
        {"Retry-After": str(wait)},
    )


def extract_in_slot(source: IO[bytes], kind: str, budget: ExtractionBudget) -> list[str]:
    """The file's chunks, read in one of this process's extraction slots within the file's
    limits and the request's budget; 503 when no slot comes free in time."""
    queue_wait = current_app.config["EXTRACT_QUEUE_SECONDS"]
    with budget.spending() as deadline:
        wait = min(queue_wait, deadline - time.monotonic())
        try:
            with extraction_slots().held(wait):
                return extract_by_deadline(source, kind, deadline, budget)
        except extract_process.SlotsBusy as busy:
            if busy.queue_full or wait >= queue_wait:
                raise server_busy() from None
            raise extract.ExtractionError(budget.time_ran_out()) from None


def extract_by_deadline(
    source: IO[bytes], kind: str, deadline: float, budget: ExtractionBudget
) -> list[str]:
    """The file's chunks, the child's timeout cut short where the request's time ends first."""
    limits = extraction_limits()
    left = deadline - time.monotonic()
    if left <= 0:
        raise extract.ExtractionError(budget.time_ran_out())
    cut = left < limits.timeout_seconds
    try:
        return extract_process.extract_chunks(
            source,
            kind,
            get_setting("CHUNK_SIZE"),
            get_setting("CHUNK_OVERLAP"),
            replace(limits, timeout_seconds=left) if cut else limits,
        )
    except extract_process.ExtractionTimedOut:
        if cut:
            raise extract.ExtractionError(budget.time_ran_out()) from None
        raise


STORED_ONLY = "Stored but not indexed: "  # opens the reason a file of no searchable type gives


def read_chunks(file: File, source: IO[bytes]) -> tuple[list[str], str | None]:
    """The chunks of the file open as ``source`` and None, or no chunks and the reason why.

    The text is read in a child process within the extraction limits and what the request
    has left of its budget; this writes nothing, so a file that is slow to read holds no
    database lock meanwhile. 503 (ServiceError) when the server is too busy to read it."""
    kind = extract.kind_of(file.filename, file.content_type)
    if kind is None:
        return [], (
            f"{STORED_ONLY}files of type {file.content_type} cannot be searched "
            f"(only {extract.SUPPORTED_DESCRIPTION})."
        )
    budget = request_budget()
    if refusal := budget.refusal():
        return [], refusal
    try:
        chunks = extract_in_slot(source, kind, budget)
    except extract.ExtractionError as error:
        return [], str(error)
    except ServiceError:  # the server is too busy to read it: nothing is to be stored
        raise
    except Exception:  # a parser bug must not lose the upload
        log.exception("extracting text from file %s failed", file.id)
        return [], "The file's text could not be read."
    return chunks, None


def set_chunks(file: File, chunks: list[str], error: str | None) -> None:
    """Give a file without chunks these chunks and its status: failed when there is an error."""
    file.chunks = [FileChunk(chunk_index=i, text=chunk) for i, chunk in enumerate(chunks)]
    file.status = "failed" if error else "completed"
    file.error = error


def index_file(file: File, source: IO[bytes]) -> None:
    """Give a file without chunks its chunks and status; never raises for bad content."""
    set_chunks(file, *read_chunks(file, source))


def reprocess(file: File) -> File:
    """Extract and chunk a stored file again (one uploaded with process=false, or a retry)."""
    fulltext.ensure_index()
    with local_copy(file) as handle:
        chunks, error = read_chunks(file, handle)
    # Delete the old chunks first: the new ones reuse their (file_id, chunk_index) keys.
    db.session.execute(sa.delete(FileChunk).where(FileChunk.file_id == file.id))
    db.session.expire(file, ["chunks"])
    set_chunks(file, chunks, error)
    db.session.commit()
    return file


# --- reading and deleting -------------------------------------------------------------------


def may_manage(user: Principal, file: File) -> bool:
    return user.is_admin or file.user_id == user.id


def get_file_for(user: Principal, file_id: str) -> File:
    """The file when the user owns it or is an admin; 404 alike for others' and unknown ids."""
    file = db.session.get(File, file_id)
    if file is None or not may_manage(user, file):
        raise ServiceError(404, f"File not found: {file_id}.")
    return file


def _visible_files(user: Principal) -> sa.Select:
    query = sa.select(File)
    return query if user.is_admin else query.where(File.user_id == user.id)


def list_files(user: Principal, page: int = 1, limit: int = 50) -> tuple[list[File], int]:
    """Newest first; the caller's own files, or everyone's for an admin."""
    query = _visible_files(user)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    items = db.session.scalars(
        query.order_by(File.created_at.desc(), File.id).offset((page - 1) * limit).limit(limit)
    ).all()
    return list(items), total


def indexed_files(user: Principal) -> list[File]:
    """Files the user may put in a collection: their own (an admin: any) that were indexed."""
    query = _visible_files(user).where(File.status == "completed").order_by(File.filename)
    return list(db.session.scalars(query))


def remove_stored(names: list[str]) -> None:
    """Remove stored bytes whose rows are deleted in the open transaction; on an outage the
    transaction is rolled back and the caller answers 503, so rows and bytes stay together."""
    try:
        for name in names:
            current_storage().delete(name)
    except StorageUnavailable as error:
        db.session.rollback()
        raise unavailable("Nothing was deleted", error) from None


def delete_file(file: File) -> None:
    """Remove the row and its chunks (and so its index entries), then the bytes, then commit."""
    db.session.execute(sa.delete(FileChunk).where(FileChunk.file_id == file.id))
    db.session.delete(file)
    db.session.flush()
    remove_stored([file.path])
    db.session.commit()


def stored_names_of(user: User) -> list[str]:
    """The stored names of the user's uploads (read before their rows go with the user)."""
    return list(db.session.scalars(sa.select(File.path).where(File.user_id == user.id)))


def served_content_type(file: File) -> str:
    """The type a download is sent as: the declared one only when a browser cannot run it."""
    if file.content_type in PASSIVE_CONTENT_TYPES:
        return file.content_type
    return "application/octet-stream"


# --- moving the bytes to another storage ---------------------------------------------------------


def digest_of(storage: Storage, name: str) -> tuple[int, str]:
    """Size and SHA-256 of stored bytes, read as a stream."""
    stored = storage.open(name)
    digest = hashlib.sha256()
    size = 0
    with closing(stored.stream):
        while block := stored.stream.read(COPY_BLOCK):
            size += len(block)
            digest.update(block)
    return size, digest.hexdigest()


def holds_copy(storage: Storage, file: File) -> bool:
    """True when the storage holds exactly the bytes the row describes."""
    try:
        return digest_of(storage, file.path) == (file.size, file.sha256)
    except MissingObject:
        return False


def copy_stored(file: File, source: LocalStorage, target: Storage) -> str:
    """Copy one file's bytes from the local folder to ``target`` and read them back; the outcome
    in a word: copied, present (already there, verified), missing (not in the folder) or
    mismatch (stored but read back different). StorageUnavailable passes through."""
    if holds_copy(target, file):
        return "present"
    if not source.exists(file.path):
        return "missing"
    target.put(file.path, source.path(file.path))
    return "copied" if holds_copy(target, file) else "mismatch"


def all_files() -> Iterator[File]:
    """Every file row, oldest first, read in batches."""
    query = sa.select(File).order_by(File.created_at, File.id).execution_options(yield_per=500)
    yield from db.session.scalars(query)


# --- the rest of Open WebUI's file routes ---------------------------------------------------


def _own_or_visible(user: Principal, own_only: bool) -> sa.Select:
    return sa.select(File).where(File.user_id == user.id) if own_only else _visible_files(user)


def search_files(
    user: Principal, pattern: object, own_only: bool = False, limit: int = 100
) -> list[File]:
    """Visible files (``own_only``: the user's own, for an admin too) whose name matches a
    glob (``*`` any run, ``?`` one character), compared case-insensitively; newest first."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise ServiceError(400, "filename is required: a name or a pattern such as *.pdf.")
    escaped = pattern.strip().lower().replace("\\", "\\\\").replace("%", r"\%")
    like = escaped.replace("_", r"\_").replace("*", "%").replace("?", "_")
    query = _own_or_visible(user, own_only).where(
        sa.func.lower(File.filename).like(like, escape="\\")
    )
    return list(db.session.scalars(query.order_by(File.created_at.desc(), File.id).limit(limit)))


def count_files(user: Principal, own_only: bool = False) -> int:
    query = _own_or_visible(user, own_only)
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))


def delete_own_files(user: Principal) -> int:
    """Delete every file the user uploaded (an admin too: only their own); how many went."""
    owned = list(db.session.scalars(sa.select(File).where(File.user_id == user.id)))
    for file in owned:
        delete_file(file)
    return len(owned)


def extracted_text(file: File) -> str:
    """The text the file was indexed with, its chunks joined (overlaps included)."""
    return "\n".join(chunk.text for chunk in file.chunks)


def rename(file: File, name: object) -> File:
    if not isinstance(name, str) or not name.strip():
        raise ServiceError(400, "filename is required.")
    file.filename = safe_filename(name)
    db.session.commit()
    return file


def text_upload(name: object, content: object) -> FileStorage:
    """A piece of text as an upload: a ``.md`` file when its name says so, else ``.txt``."""
    if not isinstance(content, str) or not content.strip():
        raise ServiceError(400, "content is required: the text to index.")
    title = name.strip() if isinstance(name, str) and name.strip() else "text"
    markdown = title.lower().endswith(".md")
    filename = title if markdown or title.lower().endswith(".txt") else f"{title}.txt"
    content_type = "text/markdown" if markdown else "text/plain"
    return FileStorage(io.BytesIO(content.encode()), filename=filename, content_type=content_type)


def store_text(user: Principal, name: object, content: object) -> File:
    """Store a piece of text as a plain-text file of the user's, indexed like an upload."""
    return store_upload(user, text_upload(name, content))
