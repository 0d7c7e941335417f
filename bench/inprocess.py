"""CPU per request in-process: bare Flask's ``/health`` against ours, keyed and session
``/api/models``; no gunicorn, no sockets, so it means something on a busy machine too.

    .venv/bin/python bench/inprocess.py                    # the table
    .venv/bin/python bench/inprocess.py --profile keyed    # cProfile of one kind of request

Each request is one call of the app's WSGI callable with a prepared environ, timed with
``time.process_time`` (this process's CPU, so other processes' load counts only through
shared caches). The kinds take turns request by request, so a change of machine speed hits
them alike; the figure per kind is the median request. ``bench/run.py`` uses
``cpu_per_request`` for its in-process rows.
"""

import argparse
import cProfile
import os
import pstats
import re
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [p for p in (str(REPO), str(BENCH)) if p not in sys.path]

from werkzeug.test import EnvironBuilder  # noqa: E402

MODELS_PATH = "/api/models"
USER_AGENT = "webui-bench/1"
UPSTREAM_KEY = "bench-upstream-key"
UPSTREAM_MODELS = ["bench-model", "bench-model-large", "bench-embed"]


def upstream_settings(url: str) -> dict[str, str]:
    """The environment that points the app at the fake upstream (one OpenAI connection)."""
    return {
        "ENABLE_OLLAMA_API": "false",
        "ENABLE_OPENAI_API": "true",
        "OPENAI_API_BASE_URLS": url + "/v1",
        "OPENAI_API_KEYS": UPSTREAM_KEY,
    }


@dataclass
class Kind:
    """One kind of request: an app and the environs it is called with, in turn."""

    label: str
    app: object  # a Flask app
    environs: list[dict]
    spent_us: list[float] = field(default_factory=list)  # per timed request

    def environ(self, number: int) -> dict:
        return dict(self.environs[number % len(self.environs)])


def make_environ(path: str, headers: dict[str, str]) -> dict:
    builder = EnvironBuilder(
        path=path,
        headers={**headers, "User-Agent": USER_AGENT},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    try:
        return builder.get_environ()
    finally:
        builder.close()


def call(app, environ: dict) -> str:
    """One request through the app's WSGI callable, body read and closed; returns the status."""
    status = []

    def start_response(line, _headers, _exc_info=None):
        status.append(line)

    body = app(environ, start_response)
    try:
        for _ in body:
            pass
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return status[0]


def cpu_per_request(kinds: list[Kind], requests: int, warm_up: int = 50) -> dict[str, float]:
    """Median CPU µs per request of each kind, the kinds taking turns."""
    for kind in kinds:
        kind.spent_us.clear()
    for number in range(requests + warm_up):
        for kind in kinds:
            environ = kind.environ(number)
            started = time.process_time()
            status = call(kind.app, environ)
            elapsed = time.process_time() - started
            if not status.startswith("200"):
                raise RuntimeError(f"in-process {kind.label} answered {status}")
            if number >= warm_up:
                kind.spent_us.append(elapsed * 1e6)
    return {kind.label: statistics.median(kind.spent_us) for kind in kinds}


def session_cookie(app, email: str, password: str) -> str:
    """A real sign-in through the login form of ``app``; returns the session cookie's value."""
    # The same User-Agent as the timed requests: Flask-Login's session protection compares it.
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    answer = client.post(
        "/auth/login", data={"email": email, "password": password, "csrf_token": token.group(1)}
    )
    cookie = client.get_cookie("session")
    if answer.status_code != 302 or cookie is None:
        raise RuntimeError(f"sign-in failed: {answer.status_code}")
    return cookie.value


def standard_kinds(seeded, upload_dir: str) -> list[Kind]:
    """bare Flask /health, our /health, keyed /api/models, session-cookie /api/models."""
    from bare import create_bare_app
    from seed import PASSWORD, make_app

    ours = make_app(seeded.database_url, upload_dir)
    cookie = session_cookie(ours, seeded.session_email, PASSWORD)
    keyed = [
        make_environ(MODELS_PATH, {"Authorization": f"Bearer {k}"}) for k in seeded.sample_keys
    ]
    return [
        Kind("bare Flask /health", create_bare_app(), [make_environ("/health", {})]),
        Kind("our /health", ours, [make_environ("/health", {})]),
        Kind("keyed /api/models", ours, keyed),
        Kind(
            "session /api/models",
            ours,
            [make_environ(MODELS_PATH, {"Cookie": f"session={cookie}"})],
        ),
    ]


def profile(kind: Kind, requests: int, top: int) -> None:
    for number in range(50):
        call(kind.app, kind.environ(number))
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for number in range(requests):
        call(kind.app, kind.environ(number))
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def render(figures: dict[str, float]) -> str:
    bare = figures["bare Flask /health"]
    health = figures["our /health"]
    lines = [f"{'request':<22} {'CPU µs':>8} {'× bare':>7} {'÷ our /health':>14}"]
    for label, us in figures.items():
        lines.append(f"{label:<22} {us:8.0f} {us / bare:7.2f} {health / us:14.2f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="timed requests per kind")
    parser.add_argument("--keys", type=int, default=1000, help="keys in the seeded database")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the whole table")
    parser.add_argument(
        "--profile", choices=["bare", "health", "keyed", "session"], help="profile one kind"
    )
    parser.add_argument("--top", type=int, default=30, help="functions in each profile table")
    args = parser.parse_args(argv)

    from seed import seed

    from tests.support.fake_upstream import upstream_process

    with tempfile.TemporaryDirectory(prefix="webui-inprocess-") as workdir:
        upload_dir = str(Path(workdir) / "uploads")
        upstream = upstream_process(Path(workdir), key=UPSTREAM_KEY, models=UPSTREAM_MODELS)
        with upstream as server:
            os.environ.update(upstream_settings(server.url))
            os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))
            seeded = seed(f"sqlite:///{workdir}/bench.sqlite", args.keys, upload_dir)
            run(args, seeded, upload_dir)
    return 0


def run(args, seeded, upload_dir: str) -> None:
    kinds = standard_kinds(seeded, upload_dir)
    if args.profile:
        index = ["bare", "health", "keyed", "session"].index(args.profile)
        profile(kinds[index], args.requests, args.top)
        return
    for _ in range(args.repeat):
        print(render(cpu_per_request(kinds, args.requests)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
