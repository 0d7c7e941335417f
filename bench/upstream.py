"""A small OpenAI-compatible model server for the benchmark.

Threaded ``http.server`` on 127.0.0.1 answering ``GET /v1/models`` and
``POST /v1/chat/completions`` (JSON, or a server-sent-events stream of
``--chunks`` chunks, one every ``--delay`` seconds, then ``data: [DONE]``).
The benchmark runs it as its own process so its work never competes for the
measuring process's GIL:

    python bench/upstream.py --port 8101 --chunks 500 --delay 0.002
"""

import argparse
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODELS = ["bench-model", "bench-model-large", "bench-embed"]
CREATED = 1_700_000_000


def chunk_event(model: str, index: int) -> bytes:
    payload = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "delta": {"content": f" w{index}"}, "finish_reason": None}],
    }
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Model servers (uvicorn, Go's net/http) send each token at once; without TCP_NODELAY
    # Nagle holds a chunk back until the previous one is acknowledged (up to 40 ms).
    disable_nagle_algorithm = True
    chunks = 500
    delay = 0.002

    def log_message(self, *args):  # quiet: the benchmark reads its own figures
        pass

    def _json(self, status: int, payload) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.rstrip("/") != "/v1/models":
            return self._json(404, {"error": {"message": "not found"}})
        data = [{"id": m, "object": "model", "created": CREATED, "owned_by": "bench"}
                for m in MODELS]
        self._json(200, {"object": "list", "data": data})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if self.path != "/v1/chat/completions":
            return self._json(404, {"error": {"message": "not found"}})
        model = body.get("model", MODELS[0])
        if not body.get("stream"):
            return self._json(200, {
                "id": "chatcmpl-bench", "object": "chat.completion", "created": CREATED,
                "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            })
        self._stream(model)

    def _stream(self, model: str) -> None:
        # Chunked transfer encoding, one HTTP chunk per event, flushed at once: what a model
        # server emitting tokens does.
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for index in range(self.chunks):
                if index and self.delay:
                    time.sleep(self.delay)
                self._chunk(chunk_event(model, index))
            self._chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


def serve(port: int, chunks: int, delay: float) -> ThreadingHTTPServer:
    handler = type("BenchHandler", (Handler,), {"chunks": chunks, "delay": delay})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--chunks", type=int, default=500)
    parser.add_argument("--delay", type=float, default=0.002)
    args = parser.parse_args()
    server = serve(args.port, args.chunks, args.delay)
    print(f"bench upstream on http://127.0.0.1:{args.port}/v1", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
