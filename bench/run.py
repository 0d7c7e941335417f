"""Benchmark the API-key path; prints one table.

    .venv/bin/python bench/run.py            # full run, records docs/benchmarks.md
    .venv/bin/python bench/run.py --quick    # a few seconds per figure (CI: proves it works)

What it does, all on 127.0.0.1 and in a temporary directory:
1. seeds two SQLite databases through the app's models: ``--keys`` keys (100,000) across
   keys/10 users and five groups, and a small one with 100 keys;
2. starts the tests' fake upstream (``tests/support/fake_upstream.py``: an OpenAI-compatible
   server with a 500-chunk stream) in its own process and, for each database, the app as the
   README deploys it, through the tests' own helper (``tests/support/servers.py``):
   ``gunicorn -c gunicorn.conf.py wsgi:app`` with HOST, PORT, WEB_CONCURRENCY, DATABASE_URL
   and SECRET_KEY; and the baseline, a bare Flask app with one /health route
   (``bench/bare.py``), under the same gunicorn config;
3. drives load with ``wrk`` (installed with apt-get when missing), in interleaved rounds so
   every ratio compares figures of the same run; the median round is reported;
4. counts SQL statements per keyed request in-process (SQLAlchemy event hooks), real
   ``last_used_at`` writes with a trigger, times 500-chunk streams through the app and
   straight from the upstream, and reads each worker's VmRSS from /proc;
5. cross-checks in-process: CPU per request of bare Flask's /health, ours and keyed
   /api/models, the kinds taking turns request by request (``bench/inprocess.py``).
"""

import argparse
import datetime
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO)] if str(REPO) not in sys.path else []  # webui and tests.support

from tests.support.fake_upstream import upstream_process  # noqa: E402
from tests.support.servers import free_port, gunicorn_server, running_process  # noqa: E402

USER_AGENT = "webui-bench/1"
UPSTREAM_KEY = "bench-upstream-key"
MODELS_PATH = "/api/models"
CHAT_PATH = "/api/chat/completions"
TARGETS = {
    "vs_bare": 0.60,
    "lookup_scaling": 1.10,
    "sql_per_request": 2,
    "writes_per_minute": 1,
    "first_chunk_ms": 5.0,
    "stream_total_ratio": 0.9,
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- tools ------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk is missing; installing Debian's package")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    found = shutil.which("wrk")
    if not found:
        sys.exit("wrk could not be installed; install it with: apt-get install wrk")
    return found


# --- processes --------------------------------------------------------------------------

UPSTREAM_MODELS = ["bench-model", "bench-model-large", "bench-embed"]


def app_server(name: str, database_url: str, env: dict, workers: int, workdir: Path):
    """Exactly the README's deployment (gunicorn -c gunicorn.conf.py wsgi:app, configured by
    the environment), started by the tests' helper; the config's own thread count."""
    return gunicorn_server(database_url, workdir, workers, threads=None, env=env, name=name)


def bare_server(env: dict, workers: int, workdir: Path):
    """The baseline: ``bench/bare.py`` (Flask and one /health route) served by the same
    gunicorn config, workers and environment as the app."""
    port = free_port()
    settings = {**env, "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": str(workers)}
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "bench.bare:app"]
    log_path = workdir / f"bare-{port}.log"
    return running_process(command, f"http://127.0.0.1:{port}", "/health", log_path, settings)


def upstream_server(args, workdir: Path):
    return upstream_process(
        workdir, args.chunks, args.chunk_delay, key=UPSTREAM_KEY, models=UPSTREAM_MODELS
    )


# --- wrk ------------------------------------------------------------------------------------


@dataclass
class Load:
    requests: int
    seconds: float
    status_errors: int
    socket_errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def run_wrk(wrk: str, url: str, headers_file: Path, seconds: float, args) -> Load:
    command = [
        wrk,
        "-t",
        str(args.wrk_threads),
        "-c",
        str(args.connections),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(BENCH / "report.lua"),
        url,
        "--",
        str(headers_file),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    match = re.search(r"^BENCH-RESULT (.*)$", result.stdout, re.M)
    if result.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    fields = dict(item.split("=") for item in match.group(1).split())
    return Load(
        requests=int(fields["requests"]),
        seconds=int(fields["duration_us"]) / 1e6,
        status_errors=int(fields["status_errors"]),
        socket_errors=int(fields["socket_errors"]),
        p50_ms=int(fields["p50_us"]) / 1000,
        p99_ms=int(fields["p99_us"]) / 1000,
    )


@dataclass
class Target:
    """One load-generating figure: a URL, the header sets wrk rotates, the status expected."""

    label: str
    url: str
    headers_file: Path
    expect_rejected: bool = False
    rounds: list[Load] = field(default_factory=list)

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(load, attribute) for load in self.rounds)

    def check(self, load: Load) -> None:
        expected_errors = load.requests if self.expect_rejected else 0
        # wrk counts a status >= 400 as an error; a rejected key must be rejected every time.
        if load.socket_errors or abs(load.status_errors - expected_errors) > args_slack(load):
            raise RuntimeError(
                f"{self.label}: {load.status_errors} error statuses and {load.socket_errors} "
                f"socket errors in {load.requests} requests"
            )


def args_slack(load: Load) -> int:
    # wrk's totals count requests it completed after the clock stopped; allow a handful.
    return max(2, load.requests // 1000)


def round_order(targets: dict[str, "Target"], number: int) -> list["Target"]:
    """Figures compared with each other run back to back, in turns: first or second place
    in a round must not favour one of them."""
    compared = [targets["bare"], targets["health"], targets["keyed"], targets["keyed_small"]]
    if number % 2 == 0:
        compared.reverse()
    return [*compared, targets["session"], targets["invalid"]]


def headers_file(workdir: Path, name: str, variants: list[dict[str, str]]) -> Path:
    path = workdir / f"{name}.headers"
    lines = [
        " | ".join(f"{k}: {v}" for k, v in {**h, "User-Agent": USER_AGENT}.items())
        for h in variants
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


# --- single measurements ----------------------------------------------------------------


def sign_in(base_url: str, email: str, password: str) -> str:
    """A real browser sign-in through the login form; returns the session cookie."""
    import httpx

    with httpx.Client(base_url=base_url, trust_env=False, headers={"User-Agent": USER_AGENT}) as c:
        page = c.get("/auth/login").text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', page
        )
        answer = c.post(
            "/auth/login", data={"email": email, "password": password, "csrf_token": token.group(1)}
        )
        if answer.status_code != 302 or "session" not in c.cookies:
            raise RuntimeError(f"sign-in failed: {answer.status_code}")
        return c.cookies["session"]


def expect_status(url: str, headers: dict, status: int, *also: int) -> None:
    import httpx

    answer = httpx.get(
        url, headers={**headers, "User-Agent": USER_AGENT}, trust_env=False, timeout=30
    )
    if answer.status_code not in (status, *also):
        raise RuntimeError(
            f"{url} answered {answer.status_code}, expected {status}: {answer.text[:300]}"
        )
    if url.endswith(MODELS_PATH) and status == 200 and not answer.json().get("data"):
        raise RuntimeError(f"{url} listed no models: {answer.text[:300]}")


@dataclass
class StreamTiming:
    first_ms: list[float] = field(default_factory=list)
    total_s: list[float] = field(default_factory=list)


def time_stream(client, url: str, headers: dict, body: dict, chunks: int, into: StreamTiming):
    started = time.perf_counter()
    first = None
    received = bytearray()
    with client.stream("POST", url, json=body, headers=headers) as answer:
        if answer.status_code != 200:
            raise RuntimeError(f"{url} answered {answer.status_code}: {answer.read()[:300]!r}")
        for piece in answer.iter_raw():
            if first is None and b"data:" in piece:
                first = time.perf_counter()
            received += piece
    ended = time.perf_counter()
    events = received.count(b"data: ")
    # One event per chunk of the answer, the finishing event (finish_reason "stop"), [DONE].
    if events != chunks + 2 or not received.rstrip().endswith(b"data: [DONE]"):
        raise RuntimeError(
            f"{url} streamed {events} events, expected {chunks}, the finishing one and [DONE]"
        )
    into.first_ms.append((first - started) * 1000)
    into.total_s.append(ended - started)


def measure_streams(app_url: str, upstream_url: str, key: str, args):
    """Alternate direct and proxied streams so drift hits both alike."""
    import httpx

    body = {
        "model": "bench-model",
        "stream": True,
        "messages": [{"role": "user", "content": "Count to five hundred."}],
    }
    direct, proxied = StreamTiming(), StreamTiming()
    with httpx.Client(trust_env=False, timeout=60) as client:
        for index in range(args.streams + 1):
            sink = (StreamTiming(), StreamTiming()) if index == 0 else (direct, proxied)  # warm-up
            time_stream(
                client,
                upstream_url + "/v1/chat/completions",
                {"Authorization": f"Bearer {UPSTREAM_KEY}"},
                body,
                args.chunks,
                sink[0],
            )
            time_stream(
                client,
                app_url + CHAT_PATH,
                {"Authorization": f"Bearer {key}"},
                body,
                args.chunks,
                sink[1],
            )
    return direct, proxied


def count_statements(database_url: str, upload_dir: str, key_list: list[str]) -> dict:
    """SQL statements per keyed GET /api/models, counted in-process at the DB-API level
    (``webui.sql_trace``: SQLite's trace callback sees every statement it runs).

    Each key is used twice in a row: its first use in a minute also records last_used
    (and the audit of a first use); the second is the steady state."""
    from seed import make_app

    from webui.extensions import db
    from webui.sql_trace import traced_statements

    app = make_app(database_url, upload_dir)
    counts: dict[str, list[int]] = {"first": [], "steady": []}
    with app.app_context():
        engine = db.engine
    # No app context stays pushed around the requests: each gets its own, with a fresh ``g``.
    client = app.test_client()
    client.get(MODELS_PATH, headers={"Authorization": f"Bearer {key_list[0]}"})  # warm caches
    with traced_statements(engine) as statements:
        for key in key_list[1:]:
            for kind in counts:
                statements.clear()
                answer = client.get(MODELS_PATH, headers={"Authorization": f"Bearer {key}"})
                if answer.status_code != 200:
                    raise RuntimeError(f"in-process {MODELS_PATH} answered {answer.status_code}")
                counts[kind].append(len(statements))
                if os.environ.get("BENCH_SHOW_SQL"):
                    log(
                        f"{kind}: {len(statements)} statements: "
                        + " || ".join(" ".join(s.split())[:70] for s in statements)
                    )
    engine.dispose()
    return counts


def cpu_per_request(large, small, upload_dir: str, requests: int) -> dict[str, float]:
    """The machine's speed drifts by half within seconds, so wrk's figures come from short
    back-to-back runs. This cross-check alternates request by request instead, calling the
    WSGI apps directly in this process (``bench/inprocess.py``: no gunicorn, no sockets):
    bare Flask's /health, our /health, keyed /api/models on the large database and on the
    small one, in turn; median CPU µs per request of each."""
    from bare import create_bare_app
    from inprocess import Kind, cpu_per_request, make_environ
    from seed import make_app

    big, little = (make_app(seeded.database_url, upload_dir) for seeded in (large, small))
    health = [make_environ("/health", {})]
    kinds = [
        Kind("bare", create_bare_app(), health),
        Kind("health", big, health),
        Kind("keyed", big, keyed_environs(large.sample_keys)),
        Kind("keyed_small", little, keyed_environs(small.sample_keys)),
    ]
    return cpu_per_request(kinds, requests)


def keyed_environs(keys: list[str]) -> list[dict]:
    from inprocess import make_environ

    return [make_environ(MODELS_PATH, {"Authorization": f"Bearer {k}"}) for k in keys]


def vm_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- the run ----------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Benchmark the API-key path; prints one table.")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few seconds per figure, no recording (CI proves the script works)",
    )
    parser.add_argument("--keys", type=int, default=100_000, help="keys in the large database")
    parser.add_argument("--small-keys", type=int, default=100, help="keys in the small database")
    parser.add_argument("--seconds", type=float, help="wrk seconds per figure per round")
    parser.add_argument("--rounds", type=int, help="interleaved rounds; the median is reported")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY")
    parser.add_argument(
        "--threads", type=int, help="GUNICORN_THREADS for every server (default: the config's)"
    )
    parser.add_argument("--streams", type=int, help="streams timed each way")
    parser.add_argument("--chunks", type=int, default=500, help="chunks per streamed answer")
    parser.add_argument(
        "--chunk-delay", type=float, default=0.002, help="seconds between the upstream's chunks"
    )
    parser.add_argument(
        "--record", default=None, help="markdown file for the table (full runs: docs/benchmarks.md)"
    )
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    # Many short rounds: this kind of machine changes speed by half every few seconds, and a
    # ratio means something only between figures measured seconds apart.
    args.seconds = args.seconds or (2 if args.quick else 1)
    args.rounds = args.rounds or (1 if args.quick else 31)
    args.streams = args.streams or (2 if args.quick else 20)
    if args.record is None and not args.quick and not args.no_record:
        args.record = str(REPO / "docs" / "benchmarks.md")
    if args.keys < 100 or args.small_keys < 100:
        parser.error("--keys and --small-keys need at least 100 (64 keys for wrk, 8 spare)")
    if args.no_record:
        args.record = None
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    wrk = ensure_wrk()
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="webui-bench-"))
    try:
        results = run(args, wrk, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    table = render_table(results, args)
    print(table)
    log(f"finished in {time.monotonic() - started:.0f} s")
    if args.record:
        record(Path(args.record), table, results, args, argv)
        log(f"recorded in {args.record}")
    return 0


def run(args, wrk: str, workdir: Path) -> dict:
    upload_dir = str(workdir / "uploads")
    env = {  # on top of this process's environment
        "SECRET_KEY": secrets.token_hex(32),
        "UPLOAD_DIR": upload_dir,
        "GUNICORN_ACCESS_LOG": os.environ.get("GUNICORN_ACCESS_LOG", "-"),
        **({"GUNICORN_THREADS": str(args.threads)} if args.threads else {}),
    }
    results: dict = {"args": vars(args).copy(), "load_before": load_average()}
    with ExitStack() as stack:
        upstream = stack.enter_context(upstream_server(args, workdir))
        upstream_port_env = {
            "ENABLE_OLLAMA_API": "false",
            "ENABLE_OPENAI_API": "true",
            "OPENAI_API_BASE_URLS": upstream.url + "/v1",
            "OPENAI_API_KEYS": UPSTREAM_KEY,
        }
        env.update(upstream_port_env)
        # The in-process app (seeding, statement counts) reads the same environment.
        os.environ.update({k: env[k] for k in ("SECRET_KEY", "UPLOAD_DIR", *upstream_port_env)})

        from seed import last_used_writes, max_writes_per_minute, seed

        large_url = f"sqlite:///{workdir / 'large.sqlite'}"
        small_url = f"sqlite:///{workdir / 'small.sqlite'}"
        log(f"seeding {args.keys:,} keys across {max(1, args.keys // 10):,} users")
        large = seed(large_url, args.keys, upload_dir)
        log(f"seeded in {large.seconds:.1f} s; seeding {args.small_keys} keys")
        small = seed(small_url, args.small_keys, upload_dir)
        results["seed_seconds"] = large.seconds

        bare = stack.enter_context(bare_server(env, args.workers, workdir))
        big = stack.enter_context(app_server("large", large_url, env, args.workers, workdir))
        little = stack.enter_context(app_server("small", small_url, env, args.workers, workdir))
        cookie = sign_in(big.url, large.session_email, "bench-password-123")

        from webui.security import key_format

        bad_keys = [key_format.generate_key() for _ in range(len(large.sample_keys))]
        bearer = lambda secret: {"Authorization": f"Bearer {secret}"}  # noqa: E731
        targets = {
            "bare": Target(
                "GET /health of a bare Flask app (bench/bare.py, same gunicorn config)",
                bare.url + "/health",
                headers_file(workdir, "bare", [{}]),
            ),
            "health": Target(
                "GET /health (no auth: the ceiling)",
                big.url + "/health",
                headers_file(workdir, "health", [{}]),
            ),
            "keyed": Target(
                f"GET /api/models, valid key ({args.keys:,} keys)",
                big.url + MODELS_PATH,
                headers_file(workdir, "keyed", [bearer(k) for k in large.sample_keys]),
            ),
            "session": Target(
                "GET /api/models, session cookie",
                big.url + MODELS_PATH,
                headers_file(workdir, "session", [{"Cookie": f"session={cookie}"}]),
            ),
            "invalid": Target(
                "GET /api/models, invalid key (rejected: 401, 429 over the failed-auth limit)",
                big.url + MODELS_PATH,
                headers_file(workdir, "invalid", [bearer(k) for k in bad_keys]),
                expect_rejected=True,
            ),
            "keyed_small": Target(
                f"GET /api/models, valid key ({args.small_keys:,} keys)",
                little.url + MODELS_PATH,
                headers_file(workdir, "keyed_small", [bearer(k) for k in small.sample_keys]),
            ),
        }
        expect_status(bare.url + "/health", {}, 200)
        expect_status(big.url + "/health", {}, 200)
        expect_status(big.url + MODELS_PATH, bearer(large.sample_keys[0]), 200)
        expect_status(big.url + MODELS_PATH, {"Cookie": f"session={cookie}"}, 200)
        expect_status(big.url + MODELS_PATH, bearer(bad_keys[0]), 401, 429)
        expect_status(little.url + MODELS_PATH, bearer(small.sample_keys[0]), 200)

        warm = 1 if args.quick else 2
        for target in targets.values():
            run_wrk(wrk, target.url, target.headers_file, warm, args)
        for number in range(1, args.rounds + 1):
            for target in round_order(targets, number):
                load = run_wrk(wrk, target.url, target.headers_file, args.seconds, args)
                target.check(load)
                target.rounds.append(load)
                log(
                    f"round {number}: {target.label}: {load.rps:,.0f} req/s, "
                    f"p50 {load.p50_ms:.2f} ms, p99 {load.p99_ms:.2f} ms"
                )
        results["targets"] = targets
        results["rss_mb"] = [vm_rss_mb(pid) for pid in big.worker_pids()]

        log(f"timing {args.streams} streams of {args.chunks} chunks each way")
        results["streams"] = measure_streams(big.url, upstream.url, large.sample_keys[0], args)
        results["writes"] = max_writes_per_minute(last_used_writes(large_url))
        results["write_count"] = len(last_used_writes(large_url))

        results["load_after"] = load_average()
        log("counting SQL statements per keyed request in-process")
        results["statements"] = count_statements(large_url, upload_dir, large.spare_keys)
        log("timing CPU per request in-process, kinds taking turns")
        results["cpu"] = cpu_per_request(large, small, upload_dir, 300 if args.quick else 3000)
    return results


# --- the table -----------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def render_table(results: dict, args) -> str:
    t = results["targets"]
    rows = [("figure", "result", "target", "met")]
    for target in t.values():
        rows.append(
            (
                target.label,
                f"{target.median('rps'):,.0f} req/s · p50 {target.median('p50_ms'):.2f} ms"
                f" · p99 {target.median('p99_ms'):.2f} ms",
                "",
                "",
            )
        )
    vs_bare = [k.rps / b.rps for k, b in zip(t["keyed"].rounds, t["bare"].rounds, strict=True)]
    rows.append(
        (
            "vs bare Flask (keyed /api/models ÷ bare Flask /health, req/s)",
            with_spread(statistics.median(vs_bare), vs_bare),
            f"≥ {TARGETS['vs_bare']}",
            verdict(statistics.median(vs_bare) >= TARGETS["vs_bare"]),
        )
    )
    ours = [h.rps / b.rps for h, b in zip(t["health"].rounds, t["bare"].rounds, strict=True)]
    rows.append(
        (
            "our /health ÷ bare Flask /health, req/s",
            with_spread(statistics.median(ours), ours),
            "",
            "",
        )
    )
    ratios = [k.rps / h.rps for k, h in zip(t["keyed"].rounds, t["health"].rounds, strict=True)]
    guard = statistics.median(ratios)
    rows.append(
        (
            "guard ratio (keyed /api/models ÷ /health, req/s)",
            with_spread(guard, ratios),
            "",  # its 0.85 target was retired with the move to gevent (issue 24)
            "",
        )
    )
    pairs = zip(t["keyed"].rounds, t["keyed_small"].rounds, strict=True)
    scalings = [big.p50_ms / small.p50_ms for big, small in pairs]
    scaling = statistics.median(scalings)
    rows.append(
        (
            f"lookup scaling (keyed p50 at {args.keys:,} ÷ at {args.small_keys} keys)",
            with_spread(scaling, scalings),
            f"≤ {TARGETS['lookup_scaling']}",
            verdict(scaling <= TARGETS["lookup_scaling"]),
        )
    )
    cpu = results["cpu"]
    rows.append(
        (
            "in-process cross-check: CPU per request, kinds taking turns (median µs)",
            f"bare Flask /health {cpu['bare']:.0f} · /health {cpu['health']:.0f} · "
            f"keyed {cpu['keyed']:.0f} ({args.keys:,} keys) · "
            f"keyed {cpu['keyed_small']:.0f} ({args.small_keys} keys)",
            "",
            "",
        )
    )
    rows.append(
        (
            "in-process vs bare · guard ratio · lookup scaling · our /health ÷ bare (CPU)",
            f"{cpu['bare'] / cpu['keyed']:.2f} · {cpu['health'] / cpu['keyed']:.2f} · "
            f"{cpu['keyed'] / cpu['keyed_small']:.2f} · {cpu['health'] / cpu['bare']:.2f}",
            "",
            "",
        )
    )
    counts = results["statements"]
    steady = statistics.median(counts["steady"])
    rows.append(
        (
            "SQL statements per keyed request",
            f"{steady:g} (a key's first use in a minute: {max(counts['first'])})",
            f"≤ {TARGETS['sql_per_request']}",
            verdict(steady <= TARGETS["sql_per_request"]),
        )
    )
    rows.append(
        (
            "last_used writes per key per minute",
            f"{results['writes']} (most for one key in any 60 s; "
            f"{results['write_count']} writes in all)",
            f"≤ {TARGETS['writes_per_minute']}",
            verdict(results["writes"] <= TARGETS["writes_per_minute"]),
        )
    )
    direct, proxied = results["streams"]
    d_first, p_first = statistics.median(direct.first_ms), statistics.median(proxied.first_ms)
    d_total, p_total = statistics.median(direct.total_s), statistics.median(proxied.total_s)
    rows.append(
        (
            f"stream: first chunk (median of {len(direct.first_ms)})",
            f"direct {d_first:.1f} ms, through the app {p_first:.1f} ms "
            f"(+{p_first - d_first:.1f} ms)",
            f"≤ +{TARGETS['first_chunk_ms']:g} ms",
            verdict(p_first - d_first <= TARGETS["first_chunk_ms"]),
        )
    )
    rows.append(
        (
            f"stream: {args.chunks} chunks in total (direct ÷ through the app)",
            f"direct {d_total * 1000:.0f} ms, through the app {p_total * 1000:.0f} ms "
            f"({d_total / p_total:.2f})",
            f"≥ {TARGETS['stream_total_ratio']}",
            verdict(d_total / p_total >= TARGETS["stream_total_ratio"]),
        )
    )
    rss = results["rss_mb"]
    rows.append(
        ("resident memory per worker (VmRSS)", ", ".join(f"{mb:.0f} MB" for mb in rss), "", "")
    )
    return markdown(rows)


def with_spread(median: float, per_round: list[float]) -> str:
    """The median of the per-round ratios, and the middle half of them when there are enough."""
    if len(per_round) < 4:
        return f"{median:.2f}"
    low, _, high = statistics.quantiles(per_round, n=4)
    return f"{median:.2f} (middle half of {len(per_round)} rounds: {low:.2f}–{high:.2f})"


def markdown(rows: list[tuple]) -> str:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]

    def line(row: tuple) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(rows[0]), rule, *map(line, rows[1:])])


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def code_version() -> str:
    """The commit measured, and whether the tree differed from it."""

    def git(*words: str) -> str:
        return subprocess.run(["git", *words], cwd=REPO, capture_output=True, text=True).stdout

    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "webui", "gunicorn.conf.py")
    return commit + (" with uncommitted changes to webui/" if dirty.strip() else "")


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    mem_kb = int(
        next(
            line.split()[1]
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
    )
    from importlib.metadata import version

    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {mem_kb / 1024 / 1024:.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}, "
        f"gunicorn {version('gunicorn')}, Flask {version('flask')}, "
        f"SQLAlchemy {version('sqlalchemy')}, {wrk.split(' [')[0].strip()}"
    )


def record(path: Path, table: str, results: dict, args, argv) -> None:
    command = " ".join(["bench/run.py", *(argv if argv is not None else sys.argv[1:])])
    threads = args.threads or "the config's"
    section = (
        f"## {datetime.date.today().isoformat()}\n\n"
        f"- machine: {machine()}\n"
        f"- command: `.venv/bin/python {command}` at commit {code_version()}\n"
        f"- guard ratio and lookup scaling: median of the per-round ratios, with the middle "
        f"half of the rounds; the in-process rows alternate request by request\n"
        f"- load average (1, 5, 15 min) before the load phases: {results['load_before']}, "
        f"after: {results['load_after']}\n"
        f"- setup: {args.workers} gunicorn workers × {threads} threads, SQLite, wrk "
        f"{args.wrk_threads} thread × {args.connections} connections, {args.rounds} interleaved "
        f"rounds of {args.seconds:g} s per figure (medians shown); {args.keys:,} keys seeded in "
        f"{results['seed_seconds']:.0f} s\n\n{table}\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    marker = "<!-- bench/run.py appends full runs below -->"
    existing = path.read_text() if path.exists() else f"# Benchmarks\n\n{marker}\n"
    if marker not in existing:
        existing += f"\n{marker}\n"
    head, _, tail = existing.partition(marker)
    path.write_text(f"{head}{marker}\n\n{section}\n{tail.lstrip()}")


if __name__ == "__main__":
    sys.exit(main())
