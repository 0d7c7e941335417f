"""/api/chat/completions (OW): OpenAI-shaped chat, forwarded to the model's connection."""

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Optional

import httpx
from flask import Response, g, jsonify, request, stream_with_context

from webui.api import bp
from webui.api.declare import documented, stream
from webui.api.payloads import json_object
from webui.core.apidoc import ANY, BOOLEAN, INTEGER, STRING, Answer, array, component, nullable, obj
from webui.errors import ServiceError
from webui.extensions import db
from webui.services import llm_client, model_access
from webui.services.connections import Connection
from webui.services.hangup import HangupWatch
from webui.services.llm_client import UpstreamError
from webui.services.retrieval import augment_with_files
from webui.services.usage import Meter, StreamWatcher, tokens_reported

# Fields this app reads itself and never forwards upstream.
LOCAL_FIELDS = frozenset({"files"})
CLIENT_GONE = 499  # the status recorded when the caller hangs up mid-stream

# --- what the route declares (core/apidoc.py) ----------------------------------------------

MESSAGES_EXAMPLE = 'a list like [{"role": "user", "content": "Hello"}]'
# Open: OpenAI clients send many more fields (temperature, tools, …), forwarded as they are.
COMPLETION_REQUEST = obj(
    {
        "model": {
            **STRING,
            "x-refusal": "is required: the id of a model from GET /api/models",
            "description": "The id of a model from GET /api/models.",
        },
        "messages": {
            **array(obj({"role": STRING, "content": ANY}, ("role",)), minItems=1),
            "x-refusal": f"is required: {MESSAGES_EXAMPLE}",
        },
        "stream": {
            **BOOLEAN,
            "default": False,
            "description": "True: the answer comes as server-sent events.",
        },
        "files": {
            "type": ["array", "null"],
            "items": {
                **obj({"type": {"enum": ["file", "collection"]}, "id": STRING}, ("type", "id")),
                "x-refusal": 'must be {"type": "file" or "collection", "id": "…"}',
            },
            "x-refusal": 'must be a list like [{"type": "collection", "id": "…"}]',
            "description": "Files and collections to search: their passages that match the "
            "last user message are added as a system message, and cited in `sources`.",
        },
    },
    ("model", "messages"),
)
SOURCES = array(
    obj(
        {
            "source": obj({"id": STRING, "name": STRING, "type": STRING}),
            "document": array(STRING),
            "metadata": array(obj({"file_id": STRING, "name": STRING, "chunk_index": INTEGER})),
        }
    ),
    description="The passages added from `files`, by file or collection.",
)
CHAT_COMPLETION = component(
    "ChatCompletion",
    obj(
        {
            "id": STRING,
            "object": STRING,
            "created": INTEGER,
            "model": STRING,
            "choices": array(
                obj(
                    {
                        "index": INTEGER,
                        "message": obj({"role": STRING, "content": nullable(STRING)}),
                        "finish_reason": nullable(STRING),
                    }
                )
            ),
            "usage": obj(
                {"prompt_tokens": INTEGER, "completion_tokens": INTEGER, "total_tokens": INTEGER}
            ),
            "sources": SOURCES,
        },
        ("choices",),
    ),
)
STREAM_DESCRIPTION = (
    'With `"stream": true` the answer is `text/event-stream` instead: the model server\'s '
    'events (`data: {…chat.completion.chunk…}`) as they come, first a `data: {"sources": …}` '
    'event when `files` matched, an `{"error": {"message", "code"}}` event if the model '
    "server fails midway, and `data: [DONE]` last."
)
UPSTREAM_ERRORS = {
    422: Answer(description="The model server refused the request (its own words)."),
    502: Answer(
        description="The model server failed, could not be reached, or answered "
        "something that is not a chat completion."
    ),
    504: Answer(description="The model server did not answer in time."),
}


def chat_request(body: dict[str, Any]) -> dict[str, Any]:
    """Check what this app relies on; everything else is the upstream's business."""
    if not isinstance(body.get("model"), str) or not body["model"].strip():
        raise ServiceError(400, "model is required: the id of a model from GET /api/models.")
    messages = body.get("messages")
    if (
        not isinstance(messages, list)
        or not messages
        or not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages)
    ):
        raise ServiceError(
            400, 'messages is required: a list like [{"role": "user", "content": "Hello"}].'
        )
    if not isinstance(body.get("stream", False), bool):
        raise ServiceError(400, "stream must be true or false.")
    return body


def upstream_body(body: dict[str, Any], model: dict) -> dict[str, Any]:
    forwarded = {key: value for key, value in body.items() if key not in LOCAL_FIELDS}
    forwarded["model"] = model["id"]
    return forwarded


@bp.post("/api/chat/completions")
@bp.post("/api/v1/chat/completions")
@bp.post("/openai/chat/completions")
@bp.post("/ollama/v1/chat/completions")
@documented(
    "Chat with a model (OpenAI's chat completions)",
    "Chat",
    body=COMPLETION_REQUEST,
    answers={
        200: [
            Answer(CHAT_COMPLETION, description="The model server's answer, as it sent it."),
            stream("text/event-stream", 'With "stream": true, server-sent events.'),
        ],
        **UPSTREAM_ERRORS,
    },
    description="The request goes on to the model's server as sent (besides `files`). "
    + STREAM_DESCRIPTION,
)
def chat_completions():
    body = chat_request(json_object())
    model = model_access.find_usable_model(g.principal, body["model"])
    body, sources = augment_with_files(g.principal, body)
    conn = model_access.connection_of(model)
    payload = upstream_body(body, model)
    meter = Meter.start(g.principal, request.path, model["id"], payload.get("stream", False))
    release_database()
    if meter.stream:
        return stream_completion(conn, payload, sources, meter)
    return complete(conn, payload, sources, meter)


def release_database() -> None:
    """Give the request's pooled database connection back before waiting on a model server.
    An answer can take minutes, and a thousand waiting chats must not hold a thousand
    connections; the usage row written at the end takes a fresh one for a moment."""
    db.session.close()


def complete(conn: Connection, payload: dict, sources: list, meter: Meter):
    try:
        response = llm_client.send(conn, "POST", llm_client.chat_path(conn), payload)
        answer = llm_client.json_answer(conn, response, "choices")
    except UpstreamError as error:
        meter.done(error.status)
        raise
    meter.done(200, tokens_reported(answer))
    if sources:
        answer["sources"] = sources
    return jsonify(answer)


def sse_event(data: Any) -> bytes:
    return b"data: " + json.dumps(data).encode() + b"\n\n"


def sse_error(error: UpstreamError) -> bytes:
    return sse_event({"error": {"message": error.detail, "code": error.status}})


def stream_completion(conn: Connection, payload: dict, sources: list, meter: Meter):
    try:
        response = llm_client.open_stream(
            conn, llm_client.chat_path(conn), payload, ("text/event-stream",)
        )
    except UpstreamError as error:
        meter.done(error.status)
        raise
    opening = [sse_event({"sources": sources})] if sources else []
    return relay_response(
        conn, response, meter, "text/event-stream", sse_error, opening, b"data: [DONE]\n\n"
    )


def relay_response(
    conn: Connection,
    response: httpx.Response,
    meter: Optional[Meter],
    content_type: str,
    error_chunk: Callable[[UpstreamError], bytes],
    opening: Iterable[bytes] = (),
    closing: bytes = b"",
) -> Response:
    """Stream an upstream answer through unbuffered, metering it when it ends.

    When the caller hangs up, the upstream request is closed: at once under gevent (see
    ``hangup.py``), else when the WSGI server fails to write and closes this generator.
    ``closing`` is sent when the upstream did not end with it."""
    watcher = StreamWatcher()
    outcome = {"status": 200}
    client = request.environ.get("gunicorn.socket")

    def on_error(error: UpstreamError) -> bytes:
        outcome["status"] = error.status
        return error_chunk(error)

    def chunks() -> Iterator[bytes]:
        finished = False
        hangup = HangupWatch.start(client, response.close)
        try:
            yield from opening
            yield from llm_client.relay(conn, response, watcher.feed, on_error, hangup.hung_up)
            if hangup.hung_up():
                return
            if closing and not watcher.saw_done:
                yield closing
            finished = True
        finally:
            hangup.stop()
            response.close()
            if meter is not None:
                meter.done(outcome["status"] if finished else CLIENT_GONE, watcher.tokens)

    return Response(
        stream_with_context(chunks()),
        content_type=content_type,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
