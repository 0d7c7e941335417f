"""CPU cost of one key update whose ``allowed_endpoints`` fills a large body (issue 25, item 1).

Runs in-process through Flask's test client on a temporary SQLite file and prints, for each
body size, the server's answer and the CPU seconds the request took (``time.process_time``)::

    .venv/bin/python bench/request_bounds.py                 # 16, 64 and 256 KiB
    .venv/bin/python bench/request_bounds.py --kib 1024      # the issue's 1 MiB body

The entries are distinct short paths (``/p0``, ``/p1``, …), the most a body of that size holds.
A last line measures the largest list the server accepts (MAX_ENDPOINTS paths of
MAX_PATH_LENGTH characters each), when the code has those limits.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webui import create_app  # noqa: E402
from webui.core.catalog import SETTINGS  # noqa: E402
from webui.extensions import db  # noqa: E402
from webui.services import configuration, users  # noqa: E402

PASSWORD = "correct horse battery"
KEYS = "/api/v1/auths/api_keys"


def paths_filling(kib: int) -> list[str]:
    """Distinct paths that make a key update's body about ``kib`` KiB."""
    entries, size, number = [], 30, 0
    while size < kib * 1024:
        entry = f"/p{number}"
        entries.append(entry)
        size += len(entry) + 4  # the quotes, the comma and the space json.dumps puts
        number += 1
    return entries


def largest_allowed() -> list[str] | None:
    """The longest list of the longest paths the server accepts, if it has those limits."""
    try:
        from webui.core.parsers import MAX_ENDPOINTS, MAX_PATH_LENGTH
    except ImportError:
        return None
    return [f"/{number:0{MAX_PATH_LENGTH - 1}d}" for number in range(MAX_ENDPOINTS)]


def measure(entries: list[str], folder: str) -> tuple[int, float]:
    """(status, CPU seconds) of one key update that sets these ``allowed_endpoints``."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench-{len(entries)}.sqlite",
            "WTF_CSRF_ENABLED": False,
            "UPLOAD_DIR": f"{folder}/uploads",
            "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,  # room for the 1 MiB list and its framing
        }
    )
    with app.app_context():
        db.create_all()
        configuration.save({"ENABLE_API_KEYS": True}, SETTINGS, None)
        users.create_user("Root", "root@example.com", PASSWORD, role="admin")
    client = app.test_client()
    client.post("/api/v1/auths/signin", json={"email": "root@example.com", "password": PASSWORD})
    key_id = client.post(KEYS, json={"name": "bench"}).get_json()["id"]
    body = json.dumps({"allowed_endpoints": entries}).encode()
    started = time.process_time()
    response = client.post(
        f"{KEYS}/{key_id}", data=body, headers={"Content-Type": "application/json"}
    )
    spent = time.process_time() - started
    return response.status_code, spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kib", type=int, nargs="+", default=[16, 64, 256])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print("case      body KiB  entries  status  CPU s")
        cases = [(f"{kib} KiB", paths_filling(kib)) for kib in args.kib]
        largest = largest_allowed()
        if largest is not None:
            cases.append(("largest", largest))
        for label, entries in cases:
            status, spent = measure(entries, folder)
            kib = len(json.dumps(entries)) / 1024
            print(f"{label:8}  {kib:8.0f}  {len(entries):7}  {status:6}  {spent:6.3f}")


if __name__ == "__main__":
    main()
