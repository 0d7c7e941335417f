"""The benchmarks still work: ``bench/run.py --quick``, ``bench/workers.py`` and
``bench/streams.py`` run end to end and print their tables.

No thresholds here: timings on shared CI machines say nothing. The figures are judged
by a full run recorded in docs/benchmarks.md.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # gunicorn, wrk and the fake upstream, for half a minute

REPO = Path(__file__).resolve().parent.parent

HEADINGS = [
    "| figure",
    "GET /health (no auth: the ceiling)",
    "GET /api/models, valid key (200 keys)",
    "GET /api/models, valid key (100 keys)",
    "GET /api/models, session cookie",
    "GET /api/models, invalid key",
    "guard ratio",
    "lookup scaling",
    "SQL statements per keyed request",
    "last_used writes per key per minute",
    "stream: first chunk",
    "stream: 500 chunks in total",
    "resident memory per worker",
]


@pytest.fixture
def wrk():
    if shutil.which("wrk") is None:
        if os.environ.get("WEBUI_REQUIRE_SERVICES") == "1":
            pytest.fail("wrk is missing (apt-get install wrk) and WEBUI_REQUIRE_SERVICES=1")
        pytest.skip("wrk is not installed (apt-get install wrk)")


def test_quick_benchmark_prints_its_table(wrk):
    result = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--keys", "200"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for heading in HEADINGS:
        assert heading in result.stdout, f"{heading!r} missing from:\n{result.stdout}"
    # Quick runs never overwrite the recorded full run.
    assert "recorded in" not in result.stderr


def test_the_worker_view_prints_cpu_and_switches_per_request(wrk):
    result = subprocess.run(
        [sys.executable, "bench/workers.py", "--keys", "50", "--rounds", "2", "--seconds", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    figures = [
        "bare Flask /health",
        "our /health",
        "keyed /api/models",
        "keyed, gthread",
        "bad keys (429)",
    ]
    assert [(row[0], " ".join(row[1:-3])) for row in rows] == [
        (number, figure) for number in ("1", "2") for figure in figures
    ]
    for row in rows:
        requests_per_second, cpu_us, switches = row[-3:]
        assert float(requests_per_second.replace(",", "")) > 0
        assert float(cpu_us.replace(",", "")) > 0  # the workers' own CPU, read from /proc
        assert float(switches) >= 0


def test_the_streams_scenario_holds_its_streams_and_reports(wrk):
    command = [sys.executable, "bench/streams.py", "--streams", "40", "--chunks", "3"]
    result = subprocess.run(
        [*command, "--delay", "0.2"], cwd=REPO, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stdout + result.stderr
    figures = dict(line.split("  ", 1) for line in result.stdout.splitlines())
    figures = {name.strip(): value.strip() for name, value in figures.items()}
    assert figures["streams opened at once"] == "40"
    assert figures["completed with every event"] == "40"
    for name in (
        "first event after the upstream sent it (ms)",
        "GET /health while they ran (ms",
        "peak RSS of the whole server (MB)",
    ):
        assert any(key.startswith(name) for key in figures), (name, figures)


def test_the_streams_scenario_counts_sockets_after_callers_hang_up(wrk):
    command = [sys.executable, "bench/streams.py", "--streams", "30", "--chunks", "20"]
    result = subprocess.run(
        [*command, "--delay", "0.5", "--drop-after", "2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = {line.split("  ", 1)[0]: line for line in result.stdout.splitlines()}
    assert "30" in lines["hung up after 2 events, as planned"]
    sockets = lines["sockets of workers, upstream: before → after (back after s)"]
    assert "(nan)" not in sockets, sockets  # every socket was back within the limit
