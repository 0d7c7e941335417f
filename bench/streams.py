"""Many streamed chats at once through the README's deployment, with a slow model server.

    .venv/bin/python bench/streams.py                          # 1,000 streams of 15 s
    .venv/bin/python bench/streams.py --streams 100 --chunks 4  # a quick look

What one run does, all on 127.0.0.1 and in a temporary directory:
1. seeds a SQLite database (``seed.py``: 100 keys, keys switched on) and starts the tests'
   fake upstream in a process of its own, on gevent's greenlets (as light as a real model
   server's async tasks), sending ``--chunks`` events ``--delay`` seconds apart (30 × 0.5 s:
   a 15 s answer), each stamped with the time it was sent;
2. starts the app as the README deploys it (``gunicorn -c gunicorn.conf.py wsgi:app``, the
   config's own worker class; ``--worker-class gthread`` sets GUNICORN_WORKER_CLASS);
3. opens ``--streams`` streamed chat completions at once with a key (asyncio and httpx, one
   connection each) while a separate process asks ``/health`` and the sign-in page every
   ``--probe-interval`` seconds, and samples the RSS of the whole server (master and workers);
4. prints: streams held at once and completed with every chunk; the first chunk's delay after
   the upstream sent it (p50/p99), and after the request was sent; the probes' latency
   (p50/p99/max); the server's peak RSS.
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import httpx

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [p for p in (str(BENCH.parent), str(BENCH)) if p not in sys.path]

from run import UPSTREAM_KEY, app_server, log, vm_rss_mb  # noqa: E402
from seed import seed  # noqa: E402

from tests.support.fake_upstream import upstream_process  # noqa: E402

CHAT = "/api/chat/completions"
PROBES = ("/health", "/auth/login")
BODY = {"model": "bench-model", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}


@dataclass
class Stream:
    """One streamed answer as the client saw it."""

    sent_at: float
    status: int = 0
    events: int = 0
    first_at: float = 0.0  # when its first event arrived (Unix seconds)
    upstream_first_at: float = 0.0  # when the upstream sent that event
    done: bool = False
    dropped: bool = False  # the client hung up on purpose (--drop-after)
    ended_at: float = 0.0


@dataclass
class Held:
    """Streams between their first event and their end, as the run goes on."""

    now: int = 0
    most: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def change(self, by: int) -> None:
        self.now += by
        self.most = max(self.most, self.now)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--chunks", type=int, default=30, help="events in an answer")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds between two events")
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY")
    parser.add_argument("--worker-class", help="GUNICORN_WORKER_CLASS (default: the config's)")
    parser.add_argument("--probe-interval", type=float, default=0.1)
    parser.add_argument(
        "--drop-after",
        type=int,
        help="each client hangs up after this many events; then the sockets of the workers "
        "and of the upstream are counted until they are back where they started",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="webui-streams-") as workdir:
        results = run(args, Path(workdir))
    print(report(results, args))
    return 0 if results["completed"] == args.streams else 1


def run(args, workdir: Path) -> dict:
    with ExitStack() as stack:
        upstream = stack.enter_context(
            upstream_process(
                workdir,
                args.chunks,
                args.delay,
                key=UPSTREAM_KEY,
                models=[BODY["model"]],
                stamp=True,
                greenlets=True,
            )
        )
        env = {
            "SECRET_KEY": secrets.token_hex(32),
            "UPLOAD_DIR": str(workdir / "uploads"),
            "ENABLE_OLLAMA_API": "false",
            "OPENAI_API_BASE_URLS": upstream.url + "/v1",
            "OPENAI_API_KEYS": UPSTREAM_KEY,
            "GUNICORN_ACCESS_LOG": "",  # a thousand log lines measure nothing
            **({"GUNICORN_WORKER_CLASS": args.worker_class} if args.worker_class else {}),
        }
        database_url = f"sqlite:///{workdir / 'bench.sqlite'}"
        key = seed(database_url, 100, env["UPLOAD_DIR"], sample=1, spare=0).sample_keys[0]
        server = stack.enter_context(app_server("app", database_url, env, args.workers, workdir))
        headers = {"Authorization": f"Bearer {key}"}
        httpx.post(server.url + CHAT, json=BODY, headers=headers, timeout=60).raise_for_status()
        log(f"opening {args.streams} streams of {args.chunks} events {args.delay} s apart")
        return measure(server, upstream.process.pid, headers, args)


def measure(server, upstream_pid: int, headers: dict, args) -> dict:
    pids = [server.process.pid, *server.worker_pids()]
    peak = {"rss_mb": sum(vm_rss_mb(pid) for pid in pids)}
    stop = threading.Event()
    sampler = threading.Thread(target=sample_rss, args=(pids, peak, stop), daemon=True)
    probe_results = multiprocessing.Queue()
    prober = multiprocessing.Process(
        target=probe, args=(server.url, args.probe_interval, probe_results), daemon=True
    )
    sampler.start()
    prober.start()
    cpu_before = worker_cpu_seconds(server.worker_pids())
    watched = [*server.worker_pids(), upstream_pid]
    sockets_before = [open_sockets(pid) for pid in watched]
    started, opened_at = time.monotonic(), time.time()
    streams, held = asyncio.run(open_streams(server.url, headers, args.streams, args.drop_after))
    elapsed = time.monotonic() - started
    prober.terminate()  # it sends each probe's figures as it goes
    # Streams that ended whole leave their upstream connections kept alive for reuse; those
    # dropped midway must leave nothing behind.
    sockets_back_s = (
        seconds_until(lambda: all_back(watched, sockets_before), 30.0)
        if args.drop_after
        else float("nan")
    )
    cpu_spent = worker_cpu_seconds(server.worker_pids()) - cpu_before
    stop.set()
    sampler.join()
    latencies: dict[str, list[float]] = {path: [] for path in PROBES}
    slowest = (0.0, 0.0)  # (seconds, when: seconds after the streams were opened)
    while not probe_results.empty():
        path, at, seconds = probe_results.get()
        latencies[path].append(seconds)
        slowest = max(slowest, (seconds, at - opened_at))
    # The answer's events, the finishing event and [DONE]; or as many as were read.
    expected = args.drop_after or args.chunks + 2
    complete = [
        s for s in streams if s.status == 200 and s.events == expected and (s.done or s.dropped)
    ]
    return {
        "streams": streams,
        "completed": len(complete),
        "held": held.most,
        "elapsed_s": elapsed,
        "first_after_upstream_ms": [(s.first_at - s.upstream_first_at) * 1000 for s in complete],
        "first_after_request_ms": [(s.first_at - s.sent_at) * 1000 for s in complete],
        "probes_ms": {path: [v * 1000 for v in values] for path, values in latencies.items()},
        "slowest_probe": slowest,
        "worker_cpu_s": cpu_spent,
        "peak_rss_mb": peak["rss_mb"],
        "expected_s": args.chunks * args.delay,
        "sockets": (sockets_before, [open_sockets(pid) for pid in watched], sockets_back_s),
    }


def open_sockets(pid: int) -> int:
    """Sockets the process holds: its clients' connections, its upstream ones, its listener."""
    folder = Path(f"/proc/{pid}/fd")
    count = 0
    for fd in folder.iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            pass  # closed while we looked
    return count


def all_back(pids: list[int], before: list[int]) -> bool:
    return all(open_sockets(pid) <= then for pid, then in zip(pids, before, strict=True))


def seconds_until(condition, limit: float) -> float:
    """Seconds until ``condition`` holds (polled every 10 ms), or NaN after ``limit``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > limit:
            return float("nan")
        time.sleep(0.01)
    return time.monotonic() - started


def worker_cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of the processes, read from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / ticks


def sample_rss(pids: list[int], peak: dict, stop: threading.Event) -> None:
    while not stop.wait(0.2):
        try:
            peak["rss_mb"] = max(peak["rss_mb"], sum(vm_rss_mb(pid) for pid in pids))
        except OSError:
            return  # the server is stopping


def probe(url: str, interval: float, results) -> None:
    """In a process of its own, so the streams' event loop never delays a probe."""
    # A new connection each time, as a person's first request is, and none left open.
    limits = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(trust_env=False, timeout=120, limits=limits) as client:
        while True:
            for path in PROBES:
                at, started = time.time(), time.perf_counter()
                client.get(url + path).raise_for_status()
                results.put((path, at, time.perf_counter() - started))
            time.sleep(interval)


async def open_streams(
    url: str, headers: dict, count: int, drop_after: Optional[int]
) -> tuple[list[Stream], Held]:
    held = Held()
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=120, trust_env=False) as client:
        streams = await asyncio.gather(
            *(read_stream(client, url, headers, held, drop_after) for _ in range(count))
        )
    return list(streams), held


async def read_stream(
    client: httpx.AsyncClient, url: str, headers: dict, held: Held, drop_after: Optional[int]
) -> Stream:
    stream = Stream(sent_at=time.time())
    async with client.stream("POST", url + CHAT, json=BODY, headers=headers) as response:
        stream.status = response.status_code
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            if stream.events == 0:
                stream.first_at = time.time()
                stream.upstream_first_at = json.loads(line[6:]).get("sent_at", 0.0)
                held.change(+1)
            stream.events += 1
            stream.done = line == "data: [DONE]"
            if stream.events == drop_after:
                stream.dropped = True
                break  # leaving the block closes the connection: the client hangs up
    stream.ended_at = time.time()
    if stream.events:
        held.change(-1)
    return stream


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def spread(values: list[float]) -> str:
    if not values:
        return "none"
    p50 = statistics.median(values)
    return f"p50 {p50:,.1f} · p99 {percentile(values, 0.99):,.1f} · max {max(values):,.1f}"


def sockets_row(results: dict) -> str:
    before, after, back_s = results["sockets"]
    return f"{before} → {after} ({back_s:.2f})"


def report(results: dict, args) -> str:
    probes = results["probes_ms"]
    rows = [
        ("streams opened at once", f"{args.streams:,}"),
        ("held at the same time (first event to end)", f"{results['held']:,}"),
        (
            f"hung up after {args.drop_after} events, as planned"
            if args.drop_after
            else "completed with every event",
            f"{results['completed']:,}",
        ),
        (
            "all ended after (s)",
            f"{results['elapsed_s']:.1f} (one answer: {results['expected_s']:g})",
        ),
        ("first event after the upstream sent it (ms)", spread(results["first_after_upstream_ms"])),
        ("first event after the request (ms)", spread(results["first_after_request_ms"])),
        *(
            (f"GET {path} while they ran (ms, {len(probes[path])} probes)", spread(probes[path]))
            for path in PROBES
        ),
        (
            "slowest probe (ms, at s after opening)",
            "{:,.1f} at {:.1f}".format(
                results["slowest_probe"][0] * 1000, results["slowest_probe"][1]
            ),
        ),
        (
            "workers' CPU per stream (ms)",
            f"{results['worker_cpu_s'] * 1000 / max(1, results['completed']):.2f}",
        ),
        ("peak RSS of the whole server (MB)", f"{results['peak_rss_mb']:,.0f}"),
        *(
            [("sockets of workers, upstream: before → after (back after s)", sockets_row(results))]
            if args.drop_after
            else []
        ),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


if __name__ == "__main__":
    sys.exit(main())
