"""Text extraction in a child process, so a hostile file cannot hold a request for long.

The child is a fresh interpreter running ``extract.py`` as a script (``python -I``: no
environment, so no secrets; not through the ``webui`` package, whose import takes seconds).
It limits its own CPU time and address space before it reads the file on stdin, and answers
with JSON on stdout; the parent also stops waiting after a wall-clock timeout. A new process
rather than a fork of this one: a worker runs many requests at once (greenlets, or threads
under gthread), and a fork copies locks that others may hold. Under gevent the wait for the
child is cooperative (gunicorn's worker patches ``subprocess``): the worker serves the rest.
"""

import json
import signal
import subprocess
import sys
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
        raise ExtractionError(
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
