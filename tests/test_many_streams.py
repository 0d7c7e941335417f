"""Many streamed chats at once through the deployed config (gunicorn.conf.py, gevent workers):
each completes with every chunk while pages keep answering; callers that hang up end their
upstream calls and leave nothing open behind; a body sent chunked meets the same cap as one
that declares its length.

Bounds are loose on purpose: these check the properties, ``bench/streams.py`` measures them."""

import asyncio
import json
import os
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import bearer
from tests.support.fake_upstream import connection_settings, running_upstream
from tests.support.servers import gunicorn_server

pytestmark = pytest.mark.slow  # a live gunicorn

STREAMS = 300
HELLO = [{"role": "user", "content": "Hello"}]
CHAT = "/api/chat/completions"
# Probes that must answer while most streams are still open: gthread's 2 workers × 8 threads
# made every request after the 16th wait for a whole stream, so none would.
PROBES_MEANWHILE = 3
HANGUP_BOUND = 3.0  # seconds; the next chunk would come 5 s after the last


@pytest.fixture
def key_and_upstream(make_user, make_key, save_settings):
    """An upstream whose answers are ``words`` chunks ``delay`` seconds apart, and a user's key."""
    with ExitStack() as running:

        def make(words: int, delay: float):
            up = running.enter_context(
                running_upstream(chunk_delay=delay, reply_words=[f" w{n}" for n in range(words)])
            )
            save_settings(
                ENABLE_API_KEYS=True,
                USER_PERMISSIONS_FEATURES_API_KEYS=True,
                **connection_settings(openai=up),
            )
            make_user("root@example.com", role="admin")
            return up, bearer(make_key(make_user("ada@example.com")))

        yield make


def stream_body() -> dict:
    return {"model": "gpt-test", "messages": HELLO, "stream": True}


async def read_stream(client: httpx.AsyncClient, url: str, key: dict) -> tuple[int, bytes]:
    async with client.stream("POST", url + CHAT, headers=key, json=stream_body()) as response:
        return response.status_code, await response.aread()


async def probe_until(url: str, done: asyncio.Event, streams_open, dropped: list) -> list[int]:
    """Ask GET /health every 0.1 s until ``done``; how many streams were open at each answer.

    Each probe comes on a new connection, as a new visitor's would: a kept-alive one left idle
    by a finished stream may be closed by the server (gunicorn's 2 s keep-alive) just as the
    probe is sent on it, which httpx reports as a disconnect and does not retry."""
    open_at_answers = []
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=fresh, timeout=60, trust_env=False) as client:
        while not done.is_set():
            try:
                response = await client.get(url + "/health")
            except httpx.RemoteProtocolError:
                # Seen in CI about once per full run while 300 streams connect at once: the
                # connection closes before an answer. Counted, not hidden: see the assertion.
                dropped.append(streams_open())
                continue
            assert response.status_code == 200
            open_at_answers.append(streams_open())
            await asyncio.sleep(0.1)
    return open_at_answers


def streamed_words(body: bytes) -> str:
    words = []
    for line in body.decode().splitlines():
        if line.startswith("data: {"):
            choices = json.loads(line[len("data: ") :]).get("choices") or [{}]
            words.append(choices[0].get("delta", {}).get("content") or "")
    return "".join(words)


def test_hundreds_of_streams_complete_while_health_answers(app_config, tmp_path, key_and_upstream):
    up, key = key_and_upstream(words=16, delay=0.25)  # four seconds each
    most_open, dropped = [], []

    async def run(url: str):
        limits = httpx.Limits(max_connections=None)
        async with httpx.AsyncClient(limits=limits, timeout=60, trust_env=False) as client:
            done = asyncio.Event()
            probes = asyncio.create_task(probe_until(url, done, lambda: up.streams_open, dropped))
            streams = [read_stream(client, url, key) for _ in range(STREAMS)]

            async def watch_upstream():
                while not done.is_set():
                    most_open.append(up.streams_open)
                    await asyncio.sleep(0.05)

            watcher = asyncio.create_task(watch_upstream())
            answers = await asyncio.gather(*streams)
            done.set()
            await watcher
            return answers, await probes

    with gunicorn_server(app_config["SQLALCHEMY_DATABASE_URI"], tmp_path, threads=None) as server:
        answers, open_at_answers = asyncio.run(run(server.url))
    assert [status for status, _ in answers] == [200] * STREAMS
    assert {streamed_words(body) for _, body in answers} == {up.reply_text()}
    assert all(body.endswith(b"data: [DONE]\n\n") for _, body in answers)
    assert max(most_open) > STREAMS // 2, "the streams were not held at the same time"
    answered_meanwhile = [count for count in open_at_answers if count > STREAMS // 2]
    assert len(answered_meanwhile) >= PROBES_MEANWHILE, open_at_answers
    assert len(dropped) < len(open_at_answers), (dropped, open_at_answers)


def open_sockets(pids: list[int], ports: set[int]) -> int:
    """TCP connections the processes hold to or from ``ports`` (the server's, for callers;
    the upstream's): pooled database connections, files or sockets, are not counted."""
    inodes = set()
    for pid in pids:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue  # closed while we looked
            if link.startswith("socket:["):
                inodes.add(link[len("socket:[") : -1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            ends = {int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16)}
            count += inode in inodes and remote != "00000000:0000" and bool(ends & ports)
    return count


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_callers_that_hang_up_end_their_upstream_calls(app_config, tmp_path, key_and_upstream):
    # A model that pauses 5 s between chunks: without the hang-up watch the app would notice
    # only when it relays the next chunk, 5 s on; the bound leaves room for a loaded machine.
    up, key = key_and_upstream(words=6, delay=5.0)
    dropped = 100

    async def open_and_drop(url: str):
        limits = httpx.Limits(max_connections=None)
        async with httpx.AsyncClient(limits=limits, timeout=60, trust_env=False) as client:

            async def first_chunk_then_leave():
                async with client.stream("POST", url + CHAT, headers=key, json=stream_body()) as r:
                    async for _ in r.aiter_raw():
                        return r.status_code  # leaving the block closes the connection

            return await asyncio.gather(*[first_chunk_then_leave() for _ in range(dropped)])

    with gunicorn_server(app_config["SQLALCHEMY_DATABASE_URI"], tmp_path, threads=None) as server:
        workers = server.worker_pids()
        ports = {int(server.url.rsplit(":", 1)[1]), int(up.url.rsplit(":", 1)[1])}
        httpx.get(server.url + "/api/models", headers=key, timeout=30)  # each worker warmed up
        httpx.get(server.url + "/api/models", headers=key, timeout=30)
        time.sleep(0.5)
        sockets_before, upstream_before = open_sockets(workers, ports), up.connections_open
        statuses = asyncio.run(open_and_drop(server.url))
        assert statuses == [200] * dropped
        dropped_at = time.monotonic()
        assert wait_for(lambda: up.streams_open == 0, HANGUP_BOUND), f"{up.streams_open} open"
        closed_after = time.monotonic() - dropped_at
        assert wait_for(lambda: up.connections_open <= upstream_before, HANGUP_BOUND)
        assert wait_for(lambda: open_sockets(workers, ports) <= sockets_before, HANGUP_BOUND), (
            open_sockets(workers, ports),
            sockets_before,
        )
        log = server.log()
    assert closed_after < HANGUP_BOUND
    assert "Traceback" not in log, log[-3000:]


def test_a_chunked_body_over_the_cap_is_refused(app, app_config, tmp_path):
    cap = 1024 * 1024

    def chunked(data: bytes):
        for start in range(0, len(data), 64 * 1024):
            yield data[start : start + 64 * 1024]

    # Cut at the cap, this body still reads as a whole sign-in: it must not be acted on.
    fits_when_cut = b'{"email": "a@example.com", "password": "x"}' + b" " * cap
    small = b'{"email": "a@example.com", "password": "x"}'
    with gunicorn_server(app_config["SQLALCHEMY_DATABASE_URI"], tmp_path, threads=None) as server:
        url = server.url + "/api/v1/auths/signin"
        headers = {"Content-Type": "application/json"}
        over = httpx.post(url, content=chunked(fits_when_cut), headers=headers, timeout=30)
        declared = httpx.post(url, content=fits_when_cut, headers=headers, timeout=30)
        under = httpx.post(url, content=chunked(small), headers=headers, timeout=30)
    assert over.request.headers.get("transfer-encoding") == "chunked"
    assert (over.status_code, declared.status_code) == (413, 413)
    assert "detail" in over.json()
    assert under.status_code == 400  # read whole and judged: a wrong password
    assert under.json()["detail"] == "Wrong email or password."


def test_the_deployed_config_runs_gevent_workers(app_config, tmp_path):
    with gunicorn_server(app_config["SQLALCHEMY_DATABASE_URI"], tmp_path, threads=None) as server:
        log = server.log()
    assert "Using worker: gevent" in log
    assert "MonkeyPatchWarning" not in log


def test_gthread_remains_a_fallback(app_config, tmp_path):
    env = {"GUNICORN_WORKER_CLASS": "gthread"}
    database = app_config["SQLALCHEMY_DATABASE_URI"]
    with gunicorn_server(database, tmp_path, threads=None, env=env) as server:
        assert httpx.get(server.url + "/health", timeout=10).json() == {"status": True}
        log = server.log()
    assert "Using worker: gthread" in log
