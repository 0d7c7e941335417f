"""Entry point for gunicorn: ``gunicorn wsgi:app``.

A configuration that cannot work (a wrong DATABASE_URL, a database that refuses the
connection, a weak SECRET_KEY) stops gunicorn with one sentence. The worker exits with
gunicorn's "worker failed to boot" code, on which gunicorn halts; any other exit and it would
start worker after worker, each failing the same way. Exactly one worker may exit so: for a
second such exit while it halts, gunicorn raises again, a traceback of its own. So a worker
that fails waits its turn (the oldest goes first), and until it has booted gunicorn's SIGTERM
ends it at once and quietly: the halt the first failure began ends the others.
"""

import os
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from webui import create_app
from webui.config import ConfigurationError
from webui.core.schema import check_database_at_start

WORKER_BOOT_ERROR = 3  # gunicorn's Arbiter.WORKER_BOOT_ERROR
TURN_SECONDS = 5.0  # more than a failed worker takes to exit and gunicorn to halt


def in_gunicorn() -> bool:
    return "gunicorn.workers.base" in sys.modules


def place_among_workers() -> int:
    """0 for gunicorn's oldest worker, 1 for the next, …; 0 where /proc does not say."""
    master = os.getppid()
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        return sorted(map(int, children)).index(os.getpid())
    except (OSError, ValueError):
        return 0


@contextmanager
def ended_by_sigterm():
    """While a gunicorn worker boots, SIGTERM ends it at once: gunicorn's own handler would
    let it boot on, and fail again, while gunicorn halts."""
    if not in_gunicorn():
        yield
        return
    gunicorns = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield  # a worker that failed keeps SIG_DFL until it has exited
    signal.signal(signal.SIGTERM, gunicorns)
    signal.siginterrupt(signal.SIGTERM, False)  # as gunicorn set it


def stop_starting(error: ConfigurationError) -> None:
    if in_gunicorn():
        time.sleep(TURN_SECONDS * place_among_workers())
    print(f"webui cannot start: {error}", file=sys.stderr, flush=True)
    raise SystemExit(WORKER_BOOT_ERROR)


with ended_by_sigterm():
    try:
        app = create_app()
        check_database_at_start(app)
    except ConfigurationError as error:
        stop_starting(error)
