"""Real servers in their own processes, on free loopback ports: gunicorn started exactly as the
README deploys the app (``gunicorn -c gunicorn.conf.py wsgi:app``), an S3-compatible server, and
any other server command (the benchmark runs the fake upstream this way). Each logs to a file,
is waited for until it answers, and is stopped with SIGTERM afterwards.

Every process starts in this checkout with it first on PYTHONPATH, so it imports ``webui`` (and
``tests.support``) from here, whatever an editable install elsewhere points at.
"""

import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import httpx

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0  # seconds for a server to answer its probe
STOP_TIMEOUT = 20.0  # seconds after SIGTERM before SIGKILL
LOG_TIMEOUT = 10.0  # seconds for the access log to catch up with the answers

# gunicorn's access log, one line per request: the worker that answered (gunicorn's %(p)s),
# the client's X-Request-Id, the status. Pass ACCESS_LOG_ENV as gunicorn_server's ``env``.
ACCESS_LOG_FORMAT = "access pid=%(p)s request=%({x-request-id}i)s status=%(s)s"
ACCESS_LOG_ENV = {"GUNICORN_CMD_ARGS": "--access-logformat=" + shlex.quote(ACCESS_LOG_FORMAT)}
_ACCESS_LINE = re.compile(r"access pid=<(\d+)> request=(\w+) status=(\d+)")
# Live servers run as deployed, where a short SECRET_KEY stops the start; one key for the
# whole run, so servers started side by side share sessions.
SECRET_KEY = secrets.token_hex(32)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    log_path: Path
    process: subprocess.Popen

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        """The processes the server forked (gunicorn's workers), read from /proc."""
        pid = self.process.pid
        return [
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]


def answered_by(log: str) -> dict[str, tuple[int, int]]:
    """request id → (worker pid, status), from an access log in ACCESS_LOG_FORMAT."""
    return {rid: (int(pid), int(status)) for pid, rid, status in _ACCESS_LINE.findall(log)}


def wait_for_log(server: "LiveServer", request_ids) -> str:
    """The server's log once it names every one of ``request_ids`` (a worker writes the line
    just after the answer), or as it is after LOG_TIMEOUT."""
    deadline = time.monotonic() + LOG_TIMEOUT
    while True:
        log = server.log()
        if set(request_ids) <= answered_by(log).keys() or time.monotonic() > deadline:
            return log
        time.sleep(0.05)


def environment(env: Optional[dict] = None) -> dict:
    """This process's environment plus ``env``, with this checkout first on PYTHONPATH."""
    merged = {**os.environ, **(env or {})}
    rest = [p for p in merged.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(REPO)]
    merged["PYTHONPATH"] = os.pathsep.join([str(REPO), *rest])
    return merged


@contextmanager
def running_process(
    command: list[str], url: str, probe: str, log_path: Path, env: Optional[dict] = None
) -> Iterator[LiveServer]:
    """Run ``command`` in this checkout until ``url + probe`` answers 200; stop it afterwards."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO, env=environment(env), stdout=log, stderr=subprocess.STDOUT
        )
    server = LiveServer(url, log_path, process)
    try:
        _wait_until_up(server, probe)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(server: LiveServer, probe: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.log_path.name} exited during start-up:\n{server.log()}")
        try:
            if httpx.get(server.url + probe, timeout=1.0, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{server.url + probe} did not answer 200 in time:\n{server.log()}")


def s3_server(workdir: Path, name: str = "s3"):
    """An S3-compatible server on a loopback port (moto's server mode, from the ``test`` extra)
    as a context manager yielding a LiveServer; it keeps its buckets in memory until stopped."""
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    log_path = workdir / f"{name}-{port}.log"
    return running_process(command, f"http://127.0.0.1:{port}", "/moto-api/", log_path)


def gunicorn_server(
    database_url: str,
    workdir: Path,
    workers: int = 2,
    threads: Optional[int] = 4,
    env: Optional[dict] = None,
    name: str = "gunicorn",
):
    """gunicorn against ``database_url`` as a context manager yielding a LiveServer, configured
    through the environment as the README says (``threads=None`` keeps the config's default);
    ``env`` adds to or overrides the defaults here."""
    port = free_port()
    settings = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "UPLOAD_DIR": str(workdir / "uploads"),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        **({"GUNICORN_THREADS": str(threads)} if threads is not None else {}),
        **(env or {}),
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    log_path = workdir / f"{name}-{port}.log"
    return running_process(command, f"http://127.0.0.1:{port}", "/health", log_path, settings)
