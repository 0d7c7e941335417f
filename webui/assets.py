"""Static files with versioned URLs: every ``url_for('static', …)`` carries ``?v=<hash of
the file's bytes>``, so a browser may keep a file for a year and still fetch a new one the
moment it changes (the URL changes with it). A request without the current ``v`` (an old
page, a hand-typed URL) gets the file with ``no-cache``: the browser revalidates it by its
ETag / Last-Modified and gets a 304 while it is unchanged."""

import hashlib
import os

from flask import Flask, current_app, request

ONE_YEAR = 31536000
VERSION_LENGTH = 10  # hex digits of SHA-256: enough that two versions of a file never collide

# filename -> (mtime_ns, size, version): a file is hashed again only when it changes on disk.
_versions: dict[str, tuple[int, int, str]] = {}


def static_version(filename: str) -> str | None:
    """The short content hash of a file under the static folder, or None when it is missing."""
    path = os.path.join(current_app.static_folder, filename)
    try:
        stat = os.stat(path)
    except (OSError, ValueError):
        return None
    known = _versions.get(filename)
    if known is not None and known[:2] == (stat.st_mtime_ns, stat.st_size):
        return known[2]
    with open(path, "rb") as file:
        version = hashlib.sha256(file.read()).hexdigest()[:VERSION_LENGTH]
    _versions[filename] = (stat.st_mtime_ns, stat.st_size, version)
    return version


def add_static_version(endpoint: str, values: dict) -> None:
    """A ``url_defaults`` hook: static URLs get the file's current version."""
    if endpoint == "static" and "v" not in values and "filename" in values:
        version = static_version(values["filename"])
        if version is not None:
            values["v"] = version


def serve_static(filename: str):
    """The static file; cached for a year when the URL names its current version."""
    response = current_app.send_static_file(filename)
    version = request.args.get("v")
    if version is not None and version == static_version(filename):
        cache = response.cache_control
        cache.no_cache = None
        cache.public = True
        cache.max_age = ONE_YEAR
        cache.immutable = True
    return response


def init_assets(app: Flask) -> None:
    app.url_defaults(add_static_version)
    app.view_functions["static"] = serve_static
