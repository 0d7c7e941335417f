"""A small OpenAI- and Ollama-compatible model server, for the tests and the benchmark.

A real HTTP/1.1 server (threaded, on 127.0.0.1) that answers the calls the app makes:
``/v1/models``, ``/v1/chat/completions`` (JSON or server-sent events), and Ollama's
``/api/tags``, ``/api/chat``, ``/api/generate`` (NDJSON), ``/api/embed``, ``/api/show``,
``/api/pull``, ``/api/create``, ``/api/delete``. Like a real model server it keeps connections
alive, sends each streamed piece as its own chunk at once (TCP_NODELAY), and can wait
``chunk_delay`` seconds between pieces. Switches make chosen paths fail (500), hang past a
timeout, answer garbage or stall in the middle of a stream. Every request is recorded so tests
can assert what the app forwarded (body, headers such as the upstream API key).

The tests run it in a thread (``with running_upstream() as up:``, or the ``openai_up`` and
``ollama_up`` fixtures). The benchmark runs it as its own process, so that its work never
competes for the measuring process's GIL (``upstream_process``, or by hand)::

    python -m tests.support.fake_upstream --port 8101 --chunks 500 --delay 0.002
"""

import argparse
import itertools
import json
import select
import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional

from tests.support.servers import free_port, running_process

CREATED = 1_700_000_000
UPSTREAM_KEY = "sk-upstream-0123456789abcdef"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeUpstream:
    url: str = ""
    openai_models: list[str] = field(default_factory=lambda: ["gpt-test", "gpt-secret"])
    ollama_models: list[str] = field(
        default_factory=lambda: ["llama-test:latest", "embed-test:latest"]
    )
    reply_words: list[str] = field(default_factory=lambda: ["Hello", " from", " upstream"])
    chunk_delay: float = 0.0  # seconds between the pieces of a stream
    hang_seconds: float = 3.0  # how long 'hang' and 'stall' wait
    required_key: Optional[str] = None  # when set, /v1/… needs "Authorization: Bearer <key>"
    # Each OpenAI stream chunk says when it was sent ("sent_at", Unix seconds): the benchmark
    # measures a relayed chunk's delay from the moment the upstream sent it.
    stamp_chunks: bool = False
    connections_open: int = 0  # connections the server holds open now
    streams_open: int = 0  # streamed answers being sent now
    _count_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    requests: list[Recorded] = field(default_factory=list)
    stream_aborted: threading.Event = field(default_factory=threading.Event)
    stream_finished: threading.Event = field(default_factory=threading.Event)
    _modes: dict[str, str] = field(default_factory=dict)

    def set_mode(self, mode: str, *paths: str) -> None:
        """'fail', 'hang', 'garbage' or 'stall' for the given paths ('*' when none)."""
        for path in paths or ("*",):
            self._modes[path] = mode

    def count(self, name: str, change: int) -> None:
        with self._count_lock:
            setattr(self, name, getattr(self, name) + change)

    def heal(self) -> None:
        self._modes.clear()

    def mode_for(self, path: str) -> str:
        return self._modes.get(path, self._modes.get("*", "ok"))

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    def last(self, path: str) -> Recorded:
        found = self.calls(path)
        assert found, (
            f"the upstream never received {path}; it got {[r.path for r in self.requests]}"
        )
        return found[-1]

    # --- answers ---------------------------------------------------------------------

    def reply_text(self) -> str:
        return "".join(self.reply_words)

    def openai_chunks(self, model: str, include_usage: bool) -> Iterator[dict]:
        """One chunk per reply word, then the finishing chunk (with usage when asked)."""
        base = {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
        }
        for word in self.reply_words:
            stamp = {"sent_at": time.time()} if self.stamp_chunks else {}
            yield {
                **base,
                **stamp,
                "choices": [
                    {
                        "index": 0,
                        "delta": {"role": "assistant", "content": word},
                        "finish_reason": None,
                    }
                ],
            }
        last = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        if include_usage:
            last["usage"] = self.usage()
        yield last

    def usage(self) -> dict:
        return {
            "prompt_tokens": 7,
            "completion_tokens": len(self.reply_words),
            "total_tokens": 7 + len(self.reply_words),
        }

    def openai_completion(self, model: str) -> dict:
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.reply_text()},
                    "finish_reason": "stop",
                }
            ],
            "usage": self.usage(),
        }

    def ollama_tag(self, name: str) -> dict:
        return {
            "name": name,
            "model": name,
            "modified_at": "2024-01-01T00:00:00Z",
            "size": 1234,
            "digest": "sha256:" + "0" * 64,
            "details": {
                "format": "gguf",
                "family": "test",
                "parameter_size": "1B",
                "quantization_level": "Q4_0",
            },
        }

    def ollama_parts(self, path: str, model: str) -> list[dict]:
        key, wrap = (
            ("message", lambda w: {"role": "assistant", "content": w})
            if path == "/api/chat"
            else ("response", lambda w: w)
        )
        base = {"model": model, "created_at": "2024-01-01T00:00:00Z"}
        parts = [{**base, key: wrap(word), "done": False} for word in self.reply_words]
        parts.append(
            {
                **base,
                key: wrap(""),
                "done": True,
                "done_reason": "stop",
                "prompt_eval_count": 5,
                "eval_count": len(self.reply_words),
            }
        )
        return parts


class UpstreamServer(ThreadingHTTPServer):
    """Serves one FakeUpstream; remembers its open connections so that stopping it closes
    them too (a kept-alive connection must not outlive the test that opened it)."""

    daemon_threads = True
    request_queue_size = 1024  # the benchmark opens a thousand streams at once

    def __init__(self, port: int, upstream: FakeUpstream):
        self.upstream = upstream
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), Handler)

    def process_request_thread(self, request, client_address):
        with self._open_lock:
            self._open.add(request)
        self.upstream.count("connections_open", 1)
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.upstream.count("connections_open", -1)
            with self._open_lock:
                self._open.discard(request)

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up is normal
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._open_lock:
            for connection in self._open:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class Handler(BaseHTTPRequestHandler):
    server_version = "FakeUpstream/1"
    protocol_version = "HTTP/1.1"
    # Model servers (uvicorn, Go's net/http) send each token at once; without TCP_NODELAY
    # Nagle holds a chunk back until the previous one is acknowledged (up to 40 ms).
    disable_nagle_algorithm = True
    server: UpstreamServer

    def log_message(self, *args):  # keep test output quiet; the benchmark reads its own figures
        pass

    @property
    def upstream(self) -> FakeUpstream:
        return self.server.upstream

    # --- plumbing ----------------------------------------------------------------------

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode(errors="replace")

    def _send(
        self,
        status: int,
        payload: Any = None,
        content_type: str = "application/json",
        raw: Optional[bytes] = None,
    ) -> None:
        data = (
            raw if raw is not None else (b"" if payload is None else json.dumps(payload).encode())
        )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, content_type: str, pieces: Iterable[bytes], stall: bool = False) -> None:
        """Chunked transfer encoding, one HTTP chunk per piece, each sent at once."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        up = self.upstream
        up.count("streams_open", 1)
        try:
            for number, piece in enumerate(pieces):
                if number and up.chunk_delay and self._reader_left_during(up.chunk_delay):
                    raise ConnectionResetError("the reader hung up between two chunks")
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                if stall:  # the first piece, then nothing: the body never ends
                    self.close_connection = True
                    time.sleep(up.hang_seconds)
                    return
            self.wfile.write(b"0\r\n\r\n")
        except ConnectionError:  # BrokenPipeError, ConnectionResetError: the reader hung up
            self.close_connection = True
            up.stream_aborted.set()
        else:
            up.stream_finished.set()
        finally:
            up.count("streams_open", -1)

    def _reader_left_during(self, seconds: float) -> bool:
        """Wait between two chunks, noticing at once (as a real model server does) when the
        reader closes the connection: it then becomes readable with nothing to read."""
        readable, _, _ = select.select([self.connection], [], [], seconds)
        if not readable:
            return False
        if self.connection.recv(1, socket.MSG_PEEK) == b"":
            return True
        time.sleep(seconds)  # the reader sent something: still there
        return False

    def _handle(self, method: str) -> None:
        up = self.upstream
        body = self._body()  # always read: the connection is kept alive for the next request
        up.requests.append(
            Recorded(method, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        mode = up.mode_for(self.path)
        if mode == "fail":
            return self._send(500, {"error": {"message": "the upstream broke on purpose"}})
        if mode == "hang":
            time.sleep(up.hang_seconds)
            return self._send(504, {"error": "too late"})
        if mode == "garbage":
            return self._send(200, content_type="text/html", raw=b"<html>certainly not JSON")
        if self.path.startswith("/v1/") and up.required_key is not None:
            if self.headers.get("Authorization") != f"Bearer {up.required_key}":
                return self._send(401, {"error": {"message": "Incorrect API key provided"}})
        route = ROUTES.get((method, self.path))
        if route is None:
            return self._send(404, {"error": f"no route {method} {self.path}"})
        route(self, body if isinstance(body, dict) else {}, mode == "stall")

    def _handle_quietly(self, method: str) -> None:
        try:
            self._handle(method)
        except ConnectionError:  # the app gave up waiting (a timeout test); nothing to answer
            self.close_connection = True

    def do_GET(self):
        self._handle_quietly("GET")

    def do_POST(self):
        self._handle_quietly("POST")

    def do_DELETE(self):
        self._handle_quietly("DELETE")

    # --- routes -----------------------------------------------------------------------------

    def openai_models(self, _body, _stall):
        self._send(
            200,
            {
                "object": "list",
                "data": [
                    {"id": name, "object": "model", "created": CREATED, "owned_by": "test-org"}
                    for name in self.upstream.openai_models
                ],
            },
        )

    def openai_chat(self, body, stall):
        up, model = self.upstream, body.get("model", "")
        if not body.get("stream"):
            return self._send(200, up.openai_completion(model))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        events = (
            b"data: " + json.dumps(chunk).encode() + b"\n\n"
            for chunk in up.openai_chunks(model, include_usage)
        )
        self._stream("text/event-stream", itertools.chain(events, [b"data: [DONE]\n\n"]), stall)

    def ollama_tags(self, _body, _stall):
        self._send(
            200, {"models": [self.upstream.ollama_tag(n) for n in self.upstream.ollama_models]}
        )

    def ollama_generate(self, body, stall):
        up, path = self.upstream, self.path
        parts = up.ollama_parts(path, body.get("model", ""))
        if body.get("stream") is False:
            final = dict(parts[-1])
            if path == "/api/chat":
                final["message"] = {"role": "assistant", "content": up.reply_text()}
            else:
                final["response"] = up.reply_text()
            return self._send(200, final)
        self._stream("application/x-ndjson", [json.dumps(p).encode() + b"\n" for p in parts], stall)

    def ollama_legacy_embedding(self, body, _stall):
        self._send(200, {"embedding": [0.1, 0.2, 0.3]})

    def openai_embeddings(self, body, _stall):
        inputs = body.get("input")
        count = len(inputs) if isinstance(inputs, list) else 1
        data = [{"object": "embedding", "embedding": [0.4, 0.5], "index": i} for i in range(count)]
        usage = {"prompt_tokens": 3 * count, "total_tokens": 3 * count}
        self._send(
            200, {"object": "list", "data": data, "model": body.get("model"), "usage": usage}
        )

    def ollama_version(self, _body, _stall):
        self._send(200, {"version": "0.9.0"})

    def ollama_ps(self, _body, _stall):
        loaded = [
            {**self.upstream.ollama_tag(n), "expires_at": ""} for n in self.upstream.ollama_models
        ]
        self._send(200, {"models": loaded[:1]})

    def ollama_embed(self, body, _stall):
        inputs = body.get("input")
        count = len(inputs) if isinstance(inputs, list) else 1
        self._send(200, {"model": body.get("model"), "embeddings": [[0.1, 0.2, 0.3]] * count})

    def ollama_show(self, body, _stall):
        self._send(
            200,
            {
                "modelfile": f"FROM {body.get('model')}",
                "parameters": "",
                "template": "{{ .Prompt }}",
                "details": self.upstream.ollama_tag(body.get("model", ""))["details"],
                "model_info": {},
            },
        )

    def ollama_pull(self, body, stall):
        name = body.get("model") or body.get("name")
        if name not in self.upstream.ollama_models:
            self.upstream.ollama_models.append(name)
        steps = [
            {"status": "pulling manifest"},
            {"status": "verifying sha256 digest"},
            {"status": "success"},
        ]
        if body.get("stream") is False:
            return self._send(200, steps[-1])
        self._stream("application/x-ndjson", [json.dumps(s).encode() + b"\n" for s in steps], stall)

    def ollama_create(self, body, stall):
        self.ollama_pull(body, stall)

    def ollama_delete(self, body, _stall):
        name = body.get("model") or body.get("name")
        if name not in self.upstream.ollama_models:
            return self._send(404, {"error": f"model '{name}' not found"})
        self.upstream.ollama_models.remove(name)
        self._send(200)


ROUTES = {
    ("GET", "/v1/models"): Handler.openai_models,
    ("POST", "/v1/chat/completions"): Handler.openai_chat,
    ("GET", "/api/tags"): Handler.ollama_tags,
    ("POST", "/api/chat"): Handler.ollama_generate,
    ("POST", "/api/generate"): Handler.ollama_generate,
    ("POST", "/api/embed"): Handler.ollama_embed,
    ("GET", "/api/version"): Handler.ollama_version,
    ("POST", "/api/embeddings"): Handler.ollama_legacy_embedding,
    ("POST", "/v1/embeddings"): Handler.openai_embeddings,
    ("GET", "/api/ps"): Handler.ollama_ps,
    ("POST", "/api/show"): Handler.ollama_show,
    ("POST", "/api/pull"): Handler.ollama_pull,
    ("POST", "/api/create"): Handler.ollama_create,
    ("DELETE", "/api/delete"): Handler.ollama_delete,
}


@contextmanager
def running_upstream(port: int = 0, **options) -> Iterator[FakeUpstream]:
    """Serve a FakeUpstream on 127.0.0.1 (a free port unless given) during the block."""
    upstream = FakeUpstream(**options)
    server = UpstreamServer(port, upstream)
    upstream.url = f"http://127.0.0.1:{server.server_address[1]}"
    # A short poll interval: shutdown() waits up to one interval, at the end of every test.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield upstream
    finally:
        server.shutdown()
        server.close_connections()
        server.server_close()


# Patch the standard library before the module imports it, then run it as the script.
GEVENT_START = [
    "-c",
    "from gevent import monkey; monkey.patch_all(); import runpy; "
    "runpy.run_module('tests.support.fake_upstream', run_name='__main__')",
]


def upstream_process(
    workdir: Path,
    chunks: Optional[int] = None,
    delay: float = 0.0,
    key: Optional[str] = None,
    models: Optional[list[str]] = None,
    stamp: bool = False,
    greenlets: bool = False,
):
    """The fake upstream in a process of its own (see ``main``), as a context manager yielding
    a LiveServer whose url is the server's root. ``greenlets``: its threads are gevent's, as
    cheap as a real model server's async tasks (a thousand streams at once)."""
    port = free_port()
    start = GEVENT_START if greenlets else ["-m", "tests.support.fake_upstream"]
    command = [sys.executable, *start, "--port", str(port)]
    command += ["--delay", str(delay)] + (["--stamp"] if stamp else [])
    command += ["--chunks", str(chunks)] if chunks is not None else []
    command += ["--key", key] if key is not None else []
    command += ["--models", *models] if models else []
    log_path = workdir / f"upstream-{port}.log"
    return running_process(command, f"http://127.0.0.1:{port}", "/api/tags", log_path)


def connection_settings(
    openai: Optional[FakeUpstream] = None,
    ollama: Optional[FakeUpstream] = None,
    openai_key: str = UPSTREAM_KEY,
) -> dict:
    """Settings that point the app at fake upstreams (one OpenAI and/or one Ollama connection)."""
    return {
        "ENABLE_OPENAI_API": openai is not None,
        "OPENAI_API_BASE_URLS": [openai.url + "/v1"] if openai else [],
        "OPENAI_API_KEYS": [openai_key] if openai else [],
        "OPENAI_API_CONFIGS": {},
        "ENABLE_OLLAMA_API": ollama is not None,
        "OLLAMA_BASE_URLS": [ollama.url] if ollama else [],
        "OLLAMA_API_CONFIGS": {},
    }


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(
        description="A fake OpenAI- and Ollama-compatible model server on 127.0.0.1."
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--chunks",
        type=int,
        help="words in a streamed answer, one event each, then the finishing event and [DONE] "
        '(default: the three of "Hello from upstream")',
    )
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between stream events")
    parser.add_argument("--key", help="the API key /v1/… requires (default: none)")
    parser.add_argument("--models", nargs="+", help="the model ids /v1/models lists")
    parser.add_argument(
        "--stamp", action="store_true", help='put "sent_at" (Unix seconds) in every stream chunk'
    )
    args = parser.parse_args(argv)
    options: dict[str, Any] = {
        "chunk_delay": args.delay,
        "required_key": args.key,
        "stamp_chunks": args.stamp,
    }
    if args.chunks is not None:
        options["reply_words"] = [f" w{index}" for index in range(args.chunks)]
    if args.models:
        options["openai_models"] = args.models
    with running_upstream(args.port, **options) as upstream:
        print(f"fake upstream on {upstream.url} (OpenAI under /v1, Ollama under /api)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
