"""Static files with versioned URLs: every ``url_for('static', …)`` carries ``?v=<hash of
the file's bytes>``, so a browser may keep a file for a year and still fetch a new one the
moment it changes (the URL changes with it). A request without the current ``v`` (an old
page, a hand-typed URL) gets the file with ``no-cache``: the browser revalidates it by its
ETag / Last-Modified and gets a 304 while it is unchanged.

Besides ``static``, other endpoints may serve a folder of files the same way (the API
reference serves Swagger UI's files from its package): ``add_file_folder`` names them, and
their URLs, cache headers and gzip (compression.py) follow the same rules."""

import hashlib
import os

from flask import Flask, current_app, request, send_from_directory
from werkzeug.security import safe_join

ONE_YEAR = 31536000
VERSION_LENGTH = 10  # hex digits of SHA-256: enough that two versions of a file never collide
FOLDERS = "webui.file_folders"  # app.extensions key: endpoint -> the folder it serves

# path -> (mtime_ns, size, version): a file is hashed again only when it changes on disk.
_versions: dict[str, tuple[int, int, str]] = {}


def add_file_folder(app: Flask, endpoint: str, folder: str) -> None:
    """``endpoint`` (with a ``filename`` argument) serves the files of ``folder``."""
    app.extensions.setdefault(FOLDERS, {})[endpoint] = folder


def file_folder(endpoint: str | None) -> str | None:
    """The folder an endpoint serves files from, or None when it serves no folder."""
    if endpoint == "static":
        return current_app.static_folder  # read each time: it may be changed after start-up
    return current_app.extensions.get(FOLDERS, {}).get(endpoint)


def file_version(path: str | None) -> str | None:
    """The short content hash of a file, or None when it is missing."""
    try:
        stat = os.stat(path)
    except (OSError, ValueError, TypeError):
        return None
    known = _versions.get(path)
    if known is not None and known[:2] == (stat.st_mtime_ns, stat.st_size):
        return known[2]
    with open(path, "rb") as file:
        version = hashlib.sha256(file.read()).hexdigest()[:VERSION_LENGTH]
    _versions[path] = (stat.st_mtime_ns, stat.st_size, version)
    return version


def static_version(filename: str) -> str | None:
    """The short content hash of a file under the static folder, or None when it is missing."""
    return file_version(os.path.join(current_app.static_folder, filename))


def add_static_version(endpoint: str, values: dict) -> None:
    """A ``url_defaults`` hook: URLs of served files get the file's current version."""
    if "v" in values or "filename" not in values:
        return
    folder = file_folder(endpoint)
    if folder is not None:
        version = file_version(safe_join(folder, values["filename"]))
        if version is not None:
            values["v"] = version


def cached_when_current(response, version: str | None):
    """Cached for a year when the request's ``v`` names the file's current version."""
    asked = request.args.get("v")
    if asked is not None and asked == version:
        cache = response.cache_control
        cache.no_cache = None
        cache.public = True
        cache.max_age = ONE_YEAR
        cache.immutable = True
    return response


def serve_static(filename: str):
    """The static file; cached for a year when the URL names its current version."""
    response = current_app.send_static_file(filename)
    return cached_when_current(response, static_version(filename))


def serve_folder_file(folder: str, filename: str):
    """A file of a folder given to ``add_file_folder``, by the rules of static files."""
    response = send_from_directory(folder, filename)
    return cached_when_current(response, file_version(safe_join(folder, filename)))


def init_assets(app: Flask) -> None:
    app.url_defaults(add_static_version)
    app.view_functions["static"] = serve_static
