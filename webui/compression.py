"""gzip for text responses (pages, CSS, JS, JSON, SVG) when the client accepts it.

Left alone: streams (chat completions as SSE, Ollama NDJSON: each token must leave at once,
and a compressor would hold it back), downloads of people's files (``Content-Disposition:
attachment``: sent as stored), types that are compressed already, and bodies too small to
gain anything.
Static files (and the other folders assets.py serves) are compressed once per version of the
file and kept in memory.
"""

import gzip

from flask import Flask, Response, request
from werkzeug.security import safe_join

from webui.assets import file_folder

SMALLEST = 1024  # bytes; below this gzip's own header and the CPU cost outweigh the gain
LEVEL = 6  # zlib's default: nearly the size of 9 at a fraction of the time
COMPRESSIBLE = frozenset(
    (
        "text/html",
        "text/css",
        "text/javascript",
        "text/plain",
        "application/javascript",
        "application/json",
        "image/svg+xml",
    )
)
NO_BODY = (204, 206, 304)

# file path -> (its ETag, its bytes gzipped): a handful of files, the current version each.
_static_gzip: dict[str, tuple[str, bytes]] = {}


def is_static(response: Response) -> bool:
    return response.direct_passthrough and file_folder(request.endpoint) is not None


def is_download(response: Response) -> bool:
    return response.headers.get("Content-Disposition", "").startswith("attachment")


def worth_compressing(response: Response) -> bool:
    """A complete text body of some size that nobody compressed yet and nobody downloads."""
    if response.status_code in NO_BODY or response.status_code < 200:
        return False
    if response.mimetype not in COMPRESSIBLE:
        return False
    if "Content-Encoding" in response.headers or is_download(response):
        return False
    if (response.is_streamed or response.direct_passthrough) and not is_static(response):
        return False  # a stream, sent piece by piece as it is made, or a file sent as it is
    size = response.content_length
    if size is None:
        size = len(response.get_data())
    return size >= SMALLEST


def accepts_gzip() -> bool:
    return request.accept_encodings["gzip"] > 0


def gzipped_static(response: Response) -> bytes:
    """The static file's bytes gzipped, made once per version of the file."""
    path = safe_join(file_folder(request.endpoint), request.view_args["filename"])
    etag = response.get_etag()[0] or ""
    known = _static_gzip.get(path)
    if known is not None and known[0] == etag:
        body = known[1]
    else:
        with open(path, "rb") as file:
            body = gzip.compress(file.read(), compresslevel=LEVEL)
        _static_gzip[path] = (etag, body)
    response.close()  # the open file Flask would have sent
    response.direct_passthrough = False
    return body


def compress_response(response: Response) -> Response:
    if not worth_compressing(response):
        return response
    response.vary.add("Accept-Encoding")
    if not accepts_gzip():
        return response
    if is_static(response):
        body = gzipped_static(response)
    else:
        body = gzip.compress(response.get_data(), compresslevel=LEVEL)
    response.set_data(body)
    response.headers["Content-Encoding"] = "gzip"
    response.headers.pop("Accept-Ranges", None)  # ranges of the file, not of these bytes
    etag, weak = response.get_etag()
    if etag and not weak:
        # Other bytes than the file's: a weak tag, which If-None-Match still matches.
        response.set_etag(etag, weak=True)
    return response


def init_compression(app: Flask) -> None:
    # First in the list, so it runs last: every other hook sees the body uncompressed.
    app.after_request_funcs.setdefault(None, []).insert(0, compress_response)
