"""A small OpenAI- and Ollama-compatible model server for the tests.

A real HTTP server (threaded, on a free 127.0.0.1 port) that answers the calls
the app makes: ``/v1/models``, ``/v1/chat/completions`` (JSON or server-sent
events), and Ollama's ``/api/tags``, ``/api/chat``, ``/api/generate`` (NDJSON),
``/api/embed``, ``/api/show``, ``/api/pull``, ``/api/create``, ``/api/delete``.
Switches make chosen paths fail (500), hang past a timeout, answer garbage or stall
in the middle of a stream. Every request is recorded so tests can assert what the
app forwarded (body, headers such as the upstream API key).

Use it with ``with running_upstream() as up:`` or the ``upstream_server`` fixture.
"""

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional

import pytest

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
    chunk_delay: float = 0.0
    hang_seconds: float = 5.0
    required_key: Optional[str] = None  # when set, /v1/… needs "Authorization: Bearer <key>"
    requests: list[Recorded] = field(default_factory=list)
    stream_aborted: threading.Event = field(default_factory=threading.Event)
    stream_finished: threading.Event = field(default_factory=threading.Event)
    _modes: dict[str, str] = field(default_factory=dict)

    def set_mode(self, mode: str, *paths: str) -> None:
        """'fail', 'hang', 'garbage' or 'stall' for the given paths ('*' when none)."""
        for path in paths or ("*",):
            self._modes[path] = mode

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

    def openai_chunks(self, model: str, include_usage: bool) -> list[dict]:
        base = {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
        }
        chunks = [
            {
                **base,
                "choices": [
                    {
                        "index": 0,
                        "delta": {"role": "assistant", "content": word},
                        "finish_reason": None,
                    }
                ],
            }
            for word in self.reply_words
        ]
        last = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        if include_usage:
            last["usage"] = self.usage()
        return chunks + [last]

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


class Handler(BaseHTTPRequestHandler):
    server_version = "FakeUpstream/1"
    upstream: FakeUpstream  # set on the subclass made per server

    def log_message(self, *args):  # keep test output quiet
        pass

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

    def _stream(self, content_type: str, pieces: list[bytes], stall: bool = False) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.close_connection = True  # the body ends when the connection does
        up = self.upstream
        try:
            for number, piece in enumerate(pieces):
                self.wfile.write(piece)
                self.wfile.flush()
                if stall and number == 0:
                    time.sleep(up.hang_seconds)
                    return
                if up.chunk_delay:
                    time.sleep(up.chunk_delay)
        except (BrokenPipeError, ConnectionResetError):
            up.stream_aborted.set()
        else:
            up.stream_finished.set()

    def _handle(self, method: str) -> None:
        up = self.upstream
        body = self._body() if method in ("POST", "DELETE") else None
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
        except (BrokenPipeError, ConnectionResetError):
            pass  # the app gave up waiting (a timeout test); nothing to answer

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
        events = [
            b"data: " + json.dumps(chunk).encode() + b"\n\n"
            for chunk in up.openai_chunks(model, include_usage)
        ]
        self._stream("text/event-stream", events + [b"data: [DONE]\n\n"], stall)

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
    ("POST", "/api/show"): Handler.ollama_show,
    ("POST", "/api/pull"): Handler.ollama_pull,
    ("POST", "/api/create"): Handler.ollama_create,
    ("DELETE", "/api/delete"): Handler.ollama_delete,
}


@contextmanager
def running_upstream(port: int = 0, **options):
    """Serve a FakeUpstream on 127.0.0.1 (a free port unless given) during the block."""
    upstream = FakeUpstream(**options)
    handler = type("BoundHandler", (Handler,), {"upstream": upstream})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    upstream.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield upstream
    finally:
        server.shutdown()
        server.server_close()


def serve_forever(openai_port: int, ollama_port: int) -> None:
    """Run an OpenAI-like and an Ollama-like upstream until interrupted (for trying the docs)."""
    with running_upstream(openai_port, required_key=UPSTREAM_KEY) as openai, running_upstream(
        ollama_port
    ) as ollama:
        print(f"OpenAI-compatible: {openai.url}/v1 (key {UPSTREAM_KEY})", flush=True)
        print(f"Ollama: {ollama.url}", flush=True)
        threading.Event().wait()


@pytest.fixture
def upstream_server():
    with running_upstream() as upstream:
        yield upstream




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


if __name__ == "__main__":
    import sys

    serve_forever(int(sys.argv[1]), int(sys.argv[2]))
