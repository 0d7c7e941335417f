"""Page weight: the bytes a browser receives over the wire for a few page loads.

    .venv/bin/python bench/page_weight.py

Starts the app as deployed (gunicorn on a loopback port, a fresh SQLite database in a
temporary folder), signs up its first account (an admin) in headless Chromium, and then
loads, each time in a browser context with an empty cache unless said otherwise:

- Chat, first load (empty cache);
- Chat, repeat load (a second visit in the same context: what the cache saves);
- Settings (Account), first load (empty cache).

Bytes are what Chromium counts as received for each request (``encodedDataLength``: headers
plus the body as sent, compressed or not); a file answered from the browser's cache costs
nothing and is counted under "from cache". The script prints a Markdown table.
"""

import argparse
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [p for p in (str(BENCH.parent),) if p not in sys.path]

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.support.chromium import launch  # noqa: E402
from tests.support.servers import gunicorn_server  # noqa: E402

EMAIL = "admin@example.com"
PASSWORD = "page-weight-123"


def create_database(database_url: str, upload_dir: str) -> None:
    from webui import create_app
    from webui.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "UPLOAD_DIR": upload_dir})
    with app.app_context():
        db.create_all()
        db.engine.dispose()


def sign_up_first_admin(browser, base_url: str) -> dict:
    """The admin's cookies, to start other contexts already signed in."""
    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    page.goto("/auth/signup")
    page.get_by_label("Name").fill("Admin")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_load_state("networkidle")
    state = context.storage_state()
    context.close()
    return state


def load(context, path: str) -> dict:
    """Open ``path`` in a new tab of ``context``; the bytes and requests it took."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    received: dict[str, float] = {}
    cached: set[str] = set()
    cdp.on(
        "Network.loadingFinished",
        lambda e: received.update({e["requestId"]: e["encodedDataLength"]}),
    )
    cdp.on("Network.requestServedFromCache", lambda e: cached.add(e["requestId"]))
    cdp.send("Network.enable")
    page.goto(path, wait_until="networkidle")
    page.close()
    # A file the memory cache answers reports no bytes and no cache event: from cache too.
    cached |= {rid for rid, size in received.items() if size == 0}
    over_wire = {rid: size for rid, size in received.items() if rid not in cached}
    return {
        "bytes": int(sum(over_wire.values())),
        "requests": len(over_wire),
        "from_cache": len(cached & received.keys()),
    }


def measure(base_url: str) -> list[tuple[str, dict]]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        state = sign_up_first_admin(browser, base_url)
        chat = browser.new_context(base_url=base_url, storage_state=state)
        rows = [
            ("Chat, first load", load(chat, "/chat")),
            ("Chat, repeat load", load(chat, "/chat")),
        ]
        chat.close()
        settings = browser.new_context(base_url=base_url, storage_state=state)
        rows.append(("Settings, first load", load(settings, "/account/")))
        settings.close()
        browser.close()
    return rows


def table(rows: list[tuple[str, dict]]) -> str:
    lines = [
        "| page load | bytes over the wire | requests over the wire | answered from cache |",
        "|---|---:|---:|---:|",
    ]
    for name, row in rows:
        lines.append(f"| {name} | {row['bytes']:,} | {row['requests']} | {row['from_cache']} |")
    return "\n".join(lines)


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args()
    with tempfile.TemporaryDirectory(prefix="page-weight-") as workdir:
        database_url = f"sqlite:///{Path(workdir) / 'bench.sqlite'}"
        create_database(database_url, str(Path(workdir) / "uploads"))
        with gunicorn_server(database_url, Path(workdir), workers=1) as server:
            rows = measure(server.url)
    print(table(rows))


if __name__ == "__main__":
    main()
