"""What uploads cost a server in text extraction (issue 25, item 3): one no-JavaScript form
request carrying many files, and many API uploads at once, against the app as the README
deploys it (gunicorn's gevent workers, the default EXTRACT_* bounds unless set around it).

    .venv/bin/python bench/extraction.py                 # about two minutes
    .venv/bin/python bench/extraction.py --hostile 3 --plain 20 --parallel 6

Figures: the form request's wall time and what became of its files (by status), and for
``--parallel`` API uploads of a slow file sent at once: their statuses, wall time, and the
most extraction processes seen running at one moment (``/proc`` sampled every 50 ms).
A "hostile" file is small HTML whose parsing is quadratic in Python's own parser: each one
reaches the per-file CPU limit (``EXTRACT_CPU_SECONDS``, 10 s by default).
"""

import argparse
import os
import re
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [p for p in (str(BENCH.parent), str(BENCH)) if p not in sys.path]

from run import app_server, log  # noqa: E402
from seed import PASSWORD, seed  # noqa: E402

HOSTILE_HTML = b"<a " * 16_000  # 48 KB; more than 10 s of CPU to parse
PLAIN_TEXT = b"A short note about extraction.\n" * 30
CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hostile", type=int, default=5, help="slow HTML files in the form")
    parser.add_argument("--plain", type=int, default=50, help="small text files in the form")
    parser.add_argument("--parallel", type=int, default=8, help="API uploads sent at once")
    parser.add_argument("--workers", type=int, default=1, help="WEB_CONCURRENCY")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="webui-extraction-") as workdir:
        print(report(run(args, Path(workdir)), args))
    return 0


def run(args, workdir: Path) -> dict:
    env = {
        "SECRET_KEY": secrets.token_hex(32),
        "UPLOAD_DIR": str(workdir / "uploads"),
        "ENABLE_OLLAMA_API": "false",
        "GUNICORN_ACCESS_LOG": "",
    }
    database_url = f"sqlite:///{workdir / 'bench.sqlite'}"
    seeded = seed(database_url, 10, env["UPLOAD_DIR"], sample=1, spare=0)
    with ExitStack() as stack:
        server = stack.enter_context(app_server("app", database_url, env, args.workers, workdir))
        browser = stack.enter_context(httpx.Client(base_url=server.url, timeout=3600))
        sign_in(browser, seeded.session_email)
        results = {"form": form_upload(browser, args.hostile, args.plain)}
        key = {"Authorization": f"Bearer {seeded.sample_keys[0]}"}
        results["parallel"] = parallel_uploads(server, key, args.parallel)
    return results


def csrf_token(client: httpx.Client, path: str) -> str:
    return CSRF.search(client.get(path).text).group(1)


def sign_in(client: httpx.Client, email: str) -> None:
    token = csrf_token(client, "/auth/login")
    data = {"email": email, "password": PASSWORD, "csrf_token": token}
    answer = client.post("/auth/login", data=data)
    assert answer.status_code == 302, f"signing in answered {answer.status_code}"


def form_upload(client: httpx.Client, hostile: int, plain: int) -> dict:
    """One POST of the Workspace > Files form (no JavaScript) with every file at once."""
    token = csrf_token(client, "/workspace/files")
    chosen = [("file", (f"slow-{n}.html", HOSTILE_HTML, "text/html")) for n in range(hostile)]
    chosen += [("file", (f"note-{n}.txt", PLAIN_TEXT, "text/plain")) for n in range(plain)]
    log(f"form: one request with {hostile} slow HTML and {plain} text files")
    started = time.monotonic()
    answer = client.post(
        "/workspace/files", data={"csrf_token": token, "extract": "y"}, files=chosen
    )
    elapsed = time.monotonic() - started
    listed = client.get("/api/v1/files/?limit=100", headers={"X-CSRFToken": token}).json()
    return {
        "status": answer.status_code,
        "seconds": elapsed,
        "files": Counter(item["data"]["status"] for item in listed["items"]),
        "errors": Counter(item["data"].get("error", "")[:70] for item in listed["items"]),
        "stored": listed["total"],
    }


def extraction_processes(workers: list[int]) -> int:
    """Extraction children of these server processes running now."""
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            count += parent in workers and b"extract.py" in command
    return count


def parallel_uploads(server, key: dict, parallel: int) -> dict:
    """``parallel`` API uploads of a slow file at once, and the most extraction children seen."""
    most, stop, workers = [0], threading.Event(), server.worker_pids()

    def sample() -> None:
        while not stop.is_set():
            most[0] = max(most[0], extraction_processes(workers))
            time.sleep(0.05)

    def upload(number: int) -> int:
        files = {"file": (f"parallel-{number}.html", HOSTILE_HTML, "text/html")}
        return httpx.post(
            server.url + "/api/v1/files/", files=files, headers=key, timeout=3600
        ).status_code

    log(f"parallel: {parallel} API uploads of a slow HTML file at once")
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    with ThreadPoolExecutor(parallel) as pool:
        statuses = Counter(pool.map(upload, range(parallel)))
    elapsed = time.monotonic() - started
    stop.set()
    sampler.join()
    return {"statuses": statuses, "seconds": elapsed, "most_processes": most[0]}


def report(results: dict, args) -> str:
    form, parallel = results["form"], results["parallel"]
    files = ", ".join(f"{count} {status}" for status, count in sorted(form["files"].items()))
    statuses = ", ".join(
        f"{count}× {status}" for status, count in sorted(parallel["statuses"].items())
    )
    return "\n".join(
        [
            f"workers: {args.workers} (gevent), cores: {os.cpu_count()}",
            f"form, {args.hostile} slow HTML + {args.plain} text files in one request: "
            f"HTTP {form['status']} after {form['seconds']:.1f} s; "
            f"{form['stored']} stored ({files or 'none'})",
            *(f"  {count}× {error or 'no error'}" for error, count in form["errors"].items()),
            f"{args.parallel} API uploads of a slow file at once: {statuses} "
            f"in {parallel['seconds']:.1f} s; at most {parallel['most_processes']} "
            "extraction processes at one moment",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
