"""Text extraction in a child process, so a hostile file cannot hold a request for long.

The child is a fresh interpreter running ``extract.py`` as a script (``python -I``: no
environment, so no secrets; not through the ``webui`` package, whose import takes seconds).
It limits its own CPU time and address space before it reads the file on stdin, and answers
with JSON on stdout; the parent also stops waiting after a wall-clock timeout. A new process
rather than a fork of this one: a worker runs many requests at once (greenlets, or threads
under gthread), and a fork copies locks that others may hold. Under gevent the wait for the
child is cooperative (gunicorn's worker patches ``subprocess``): the worker serves the rest.

``ExtractionSlots`` bounds how many children one server process runs at once; the
extractions past them wait in a short queue, and past the queue they are refused.
"""

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from webui.services import extract
from webui.services.extract import ExtractionError

MB = 1024 * 1024
# Shown in the log when the child fails in a way no person can act on.
STDERR_LOGGED = 4000


@dataclass(frozen=True)
class ExtractionLimits:
    max_characters: int
    max_chunks: int
    cpu_seconds: int
    timeout_seconds: float
    memory_mb: int


class ExtractionCrashed(Exception):
    """The child failed for a reason of its own (a bug, a signal); the message is for the log."""


class ExtractionTimedOut(ExtractionError):
    """The child ran past its wall-clock timeout and was killed."""


class SlotsBusy(Exception):
    """No extraction slot for this file: ``queue_full``, or the wait for one ran out."""

    def __init__(self, queue_full: bool):
        super().__init__("queue full" if queue_full else "waited too long")
        self.queue_full = queue_full


class ExtractionSlots:
    """At most ``running`` extraction children at once in this process, and at most
    ``waiting`` more extractions waiting for one of them.

    ``threading`` semaphores: gunicorn's gevent worker patches them into cooperative ones
    (a waiting request is a parked greenlet), and gthread's threads use them as they are."""

    def __init__(self, running: int, waiting: int):
        self.running, self.waiting = running, waiting
        self._free = threading.BoundedSemaphore(running)
        self._admitted = threading.BoundedSemaphore(running + waiting)

    @contextmanager
    def held(self, wait_seconds: float) -> Iterator[None]:
        """A slot for the block, waited for at most ``wait_seconds``."""
        if not self._admitted.acquire(blocking=False):
            raise SlotsBusy(queue_full=True)
        try:
            if not self._free.acquire(timeout=max(wait_seconds, 0)):
                raise SlotsBusy(queue_full=False)
            try:
                yield
            finally:
                self._free.release()
        finally:
            self._admitted.release()


def extract_chunks(
    source: IO[bytes], kind: str, size: int, overlap: int, limits: ExtractionLimits
) -> list[str]:
    """The chunks of the file open as ``source``, extracted in a child process within
    ``limits``; ExtractionError with a sentence for a person when a limit is reached."""
    options = {
        "kind": kind,
        "size": size,
        "overlap": overlap,
        "max_chars": limits.max_characters,
        "max_chunks": limits.max_chunks,
        "cpu_seconds": limits.cpu_seconds,
        "memory_bytes": limits.memory_mb * MB,
    }
    command = [sys.executable, "-I", extract.__file__, json.dumps(options)]
    try:
        finished = subprocess.run(
            command, stdin=source, capture_output=True, env={}, timeout=limits.timeout_seconds
        )
    except subprocess.TimeoutExpired:  # the child has been killed
        raise ExtractionTimedOut(
            f"Text extraction stopped: reading the file took longer than "
            f"{limits.timeout_seconds:g} s; try again later, or split it into smaller files."
        ) from None
    # RLIMIT_CPU kills with SIGKILL (soft and hard limits are equal). The kernel's
    # out-of-memory killer would too, but RLIMIT_AS makes the child fail long before.
    if finished.returncode in (-signal.SIGKILL, -signal.SIGXCPU):
        raise ExtractionError(
            f"Text extraction stopped: reading the file took more than {limits.cpu_seconds} s "
            "of CPU time; split it into smaller files, or upload its text as plain text."
        )
    if finished.returncode != 0:
        stderr = finished.stderr[-STDERR_LOGGED:].decode(errors="replace")
        raise ExtractionCrashed(f"exit status {finished.returncode}: {stderr}")
    answer = json.loads(finished.stdout)
    if "error" in answer:
        raise ExtractionError(answer["error"])
    if answer.get("limit") == "memory":
        raise ExtractionError(
            f"Text extraction stopped: reading the file needed more than {limits.memory_mb:,} MB "
            "of memory; split it into smaller files, or upload its text as plain text."
        )
    return answer["chunks"]
