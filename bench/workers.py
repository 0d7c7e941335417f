"""What gunicorn's workers spend per request under load: for bare Flask's ``/health``, ours,
keyed ``/api/models`` under the deployed gevent workers and under the gthread fallback, and a
flood of bad keys from one address (refused with 429 once over the failed-authentication
limit), each wrk run's req/s with the workers' CPU time and context switches per request,
read from ``/proc`` around the run.

    .venv/bin/python bench/workers.py                  # 4 rounds of 3 s per figure
    .venv/bin/python bench/workers.py --threads 4      # another GUNICORN_THREADS (gthread)

``bench/run.py`` gives the ratios; this shows why they swing between runs of the same code.
A worker's voluntary context switches per request tell the two ways a gthread worker runs
on this machine: about 2 a request when its threads seldom wait for each other, and 20 or
more when they queue for the GIL after every socket or SQLite call (then the machine is
partly idle and every figure drops by half or more).
"""

import argparse
import os
import secrets
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [p for p in (str(BENCH.parent), str(BENCH)) if p not in sys.path]

import run  # noqa: E402  (bench/run.py: servers, wrk and headers files)

from webui.security import key_format  # noqa: E402


@dataclass
class Usage:
    """CPU seconds and voluntary context switches of a set of processes, all threads."""

    cpu_s: float
    switches: int

    @classmethod
    def of(cls, pids: list[int]) -> "Usage":
        ticks = os.sysconf("SC_CLK_TCK")
        cpu, switches = 0.0, 0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
            for task in Path(f"/proc/{pid}/task").iterdir():
                for line in (task / "status").read_text().splitlines():
                    if line.startswith("voluntary_ctxt_switches:"):
                        switches += int(line.split()[1])
        return cls(cpu, switches)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=1000, help="keys in the seeded database")
    parser.add_argument("--seconds", type=float, default=3, help="wrk seconds per figure")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY")
    parser.add_argument("--threads", type=int, help="GUNICORN_THREADS (default: the config's)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    args = parser.parse_args(argv)
    args.wrk_threads, args.chunks, args.chunk_delay = 1, 10, 0.002  # what run.py's helpers read
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    wrk = run.ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="webui-workers-") as workdir:
        measure(args, wrk, Path(workdir))
    return 0


def measure(args, wrk: str, workdir: Path) -> None:
    env = {
        "SECRET_KEY": secrets.token_hex(32),
        "UPLOAD_DIR": str(workdir / "uploads"),
        "GUNICORN_ACCESS_LOG": os.environ.get("GUNICORN_ACCESS_LOG", "-"),
        **({"GUNICORN_THREADS": str(args.threads)} if args.threads else {}),
    }
    with ExitStack() as stack:
        upstream = stack.enter_context(run.upstream_server(args, workdir))
        env.update(
            ENABLE_OLLAMA_API="false",
            ENABLE_OPENAI_API="true",
            OPENAI_API_BASE_URLS=upstream.url + "/v1",
            OPENAI_API_KEYS=run.UPSTREAM_KEY,
        )
        os.environ.update(env)  # the seeding app reads the same settings
        from seed import seed

        database_url = f"sqlite:///{workdir / 'bench.sqlite'}"
        seeded = seed(database_url, args.keys, env["UPLOAD_DIR"])
        bare = stack.enter_context(run.bare_server(env, args.workers, workdir))
        ours = stack.enter_context(run.app_server("ours", database_url, env, args.workers, workdir))
        threaded_env = {**env, "GUNICORN_WORKER_CLASS": "gthread"}
        threaded = stack.enter_context(
            run.app_server("gthread", database_url, threaded_env, args.workers, workdir)
        )
        keys = [{"Authorization": f"Bearer {key}"} for key in seeded.sample_keys]
        keyed = run.headers_file(workdir, "keyed", keys)
        bad_keys = [{"Authorization": f"Bearer {key_format.generate_key()}"} for _ in range(64)]
        figures = [
            ("bare Flask /health", bare, "/health", run.headers_file(workdir, "bare", [{}])),
            ("our /health", ours, "/health", run.headers_file(workdir, "health", [{}])),
            ("keyed /api/models", ours, run.MODELS_PATH, keyed),
            ("keyed, gthread", threaded, run.MODELS_PATH, keyed),
            ("bad keys (429)", ours, run.MODELS_PATH, run.headers_file(workdir, "bad", bad_keys)),
        ]
        for _, server, path, headers in figures:  # warm every worker and connection
            run.run_wrk(wrk, server.url + path, headers, 1, args)
        print(f"{'round':>5}  {'figure':<20} {'req/s':>7} {'CPU µs/req':>11} {'switches/req':>13}")
        for number in range(1, args.rounds + 1):
            for label, server, path, headers in figures:
                pids = server.worker_pids()
                before = Usage.of(pids)
                load = run.run_wrk(wrk, server.url + path, headers, args.seconds, args)
                after = Usage.of(pids)
                cpu_us = (after.cpu_s - before.cpu_s) / load.requests * 1e6
                switches = (after.switches - before.switches) / load.requests
                spent = f"{load.rps:>7,.0f} {cpu_us:>11,.0f} {switches:>13.1f}"
                print(f"{number:>5}  {label:<20} {spent}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
