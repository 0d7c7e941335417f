"""Extraction bounded per request and per server process (issue 25, item 3), not only per file:
at most EXTRACT_MAX_FILES_PER_REQUEST files through the upload form (more: nothing uploaded)
and read in one request; at most EXTRACT_REQUEST_SECONDS of reading over all of a request's
files (the files after that are stored, marked failed, and can be indexed again); and at most
EXTRACT_CONCURRENCY extracting processes at once in a server process, EXTRACT_QUEUE more
waiting, past which a request is refused with 503 and changes nothing."""

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import login_client
from tests.support.files import chunk_texts, file_rows, stored_names, upload, upload_ok
from tests.support.servers import gunicorn_server
from webui.services import files
from webui.services.extract_process import ExtractionSlots, SlotsBusy

# Python's own HTML parser rescans an unclosed tag from each "<" at its end: quadratic, and
# seconds of CPU for these 48 KB, far more than the request's time in these tests.
SLOW_HTML = b"<a " * 16_000
BUSY = (
    "The server is reading the text of too many files at once; nothing was stored or changed. "
    "Try again in a minute."
)


def time_ran_out(seconds: int) -> str:
    return (
        f"This request's time for reading text ({seconds} s for all of its files) ran out before "
        "this file was read; index it again (Workspace > Files, or POST "
        "/api/v1/retrieval/process/file)."
    )


@pytest.fixture
def app_config(app_config, request):
    """The tests' configuration with a test's own bounds (parametrize with indirect=True)."""
    return {**app_config, **getattr(request, "param", {})}


@pytest.fixture
def people(people_with_keys):
    return people_with_keys("alice")


@pytest.fixture
def signed_in(app, people):
    return login_client(app, "alice@example.com")


def post_form(signed_in, *named: tuple[str, bytes]):
    """The Workspace > Files form without JavaScript: every file in one request."""
    chosen = [(io.BytesIO(data), name) for name, data in named]
    return signed_in.post(
        "/workspace/files",
        data={"file": chosen, "extract": "y"},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def statuses(client, key) -> dict[str, tuple[str, str | None]]:
    """Each of the caller's files by name: (status, error)."""
    items = client.get("/api/v1/files/", headers=key).get_json()["items"]
    return {item["filename"]: (item["data"]["status"], item["data"].get("error")) for item in items}


@pytest.fixture
def held_slot(app):
    """Takes this app's only extraction slot for the test (EXTRACT_CONCURRENCY=1), as a
    request reading a long file would."""
    with app.app_context():
        slots = files.extraction_slots()
    assert slots.running == 1
    with slots.held(0):
        yield slots


# --- files per request -------------------------------------------------------------------


@pytest.mark.parametrize("app_config", [{"EXTRACT_MAX_FILES_PER_REQUEST": 3}], indirect=True)
def test_the_form_takes_at_most_the_files_a_request_may_carry(app, signed_in):
    four = [(f"note-{n}.txt", b"a short note") for n in range(4)]
    refused = post_form(signed_in, *four)
    assert refused.status_code == 400
    assert b"You chose 4 files; upload at most 3 at a time. Nothing was uploaded." in refused.data
    assert file_rows(app) == [] and stored_names(app) == []
    assert b"and 3 files at a time" in refused.data  # the form says so beforehand, too
    taken = post_form(signed_in, *four[:3])
    assert taken.status_code == 200 and len(file_rows(app)) == 3


@pytest.mark.parametrize("app_config", [{"EXTRACT_MAX_FILES_PER_REQUEST": 2}], indirect=True)
def test_a_batch_reads_at_most_the_files_a_request_may_carry(client, people):
    key = people["alice_key"]
    ids = [
        upload_ok(client, f"n{n}.txt", b"pending text", key, "?process=false")["id"]
        for n in range(3)
    ]
    batch = {"files": [{"id": file_id} for file_id in ids]}
    answer = client.post("/api/v1/retrieval/process/files/batch", json=batch, headers=key)
    assert answer.status_code == 200
    results = answer.get_json()["results"]
    assert [result["status"] for result in results] == ["completed", "completed", "failed"]
    assert results[2]["error"] == (
        "One request reads the text of at most 2 files; index it again (Workspace > Files, or "
        "POST /api/v1/retrieval/process/file) in another request."
    )
    again = client.post("/api/v1/retrieval/process/file", json={"file_id": ids[2]}, headers=key)
    assert again.get_json()["data"] == {"status": "completed"}


# --- time per request --------------------------------------------------------------------

# Only the request's time can stop the slow file: its own limits are far away.
SHORT_REQUEST = {
    "EXTRACT_REQUEST_SECONDS": 2,
    "EXTRACT_CPU_SECONDS": 600,
    "EXTRACT_TIMEOUT_SECONDS": 600,
}


@pytest.mark.parametrize("app_config", [SHORT_REQUEST], indirect=True)
def test_files_after_the_request_time_ran_out_are_stored_unindexed(app, client, signed_in, people):
    page = post_form(signed_in, ("slow.html", SLOW_HTML), ("a.txt", b"alpha"), ("b.txt", b"beta"))
    assert page.status_code == 200
    assert b"a.txt was stored but not indexed: This request&#39;s time" in page.data
    unindexed = ("failed", time_ran_out(2))
    found = statuses(client, people["alice_key"])
    assert found == {"slow.html": unindexed, "a.txt": unindexed, "b.txt": unindexed}
    assert len(stored_names(app)) == 3
    # Nothing lost: each can be indexed again, in a request of its own.
    file_id = next(row for row in file_rows(app) if chunk_texts(app, row) == [])
    indexed = client.post(
        "/api/v1/retrieval/process/file", json={"file_id": file_id}, headers=people["alice_key"]
    )
    assert indexed.status_code == 200


# --- extractions at once, per server process -------------------------------------------------


def test_slots_refuse_past_the_queue_at_once():
    slots = ExtractionSlots(running=1, waiting=0)
    with slots.held(0), pytest.raises(SlotsBusy) as refused, slots.held(60):
        pass
    assert refused.value.queue_full


def test_slots_let_a_waiter_wait_so_long_only():
    slots = ExtractionSlots(running=1, waiting=1)
    with slots.held(0), pytest.raises(SlotsBusy) as refused, slots.held(0.05):
        pass
    assert not refused.value.queue_full


def test_a_waiter_gets_the_slot_once_it_is_free():
    slots = ExtractionSlots(running=1, waiting=1)
    got = threading.Event()

    def wait_for_slot():
        with slots.held(60):
            got.set()

    with slots.held(0):
        waiter = threading.Thread(target=wait_for_slot)
        waiter.start()
        assert not got.wait(0.2)  # waiting while the slot is held
    waiter.join(60)
    assert got.is_set()


ONE_SLOT_NO_QUEUE = {"EXTRACT_CONCURRENCY": 1, "EXTRACT_QUEUE": 0}


@pytest.mark.parametrize("app_config", [ONE_SLOT_NO_QUEUE], indirect=True)
def test_an_upload_past_the_queue_is_refused_and_changes_nothing(app, client, people, held_slot):
    key = people["alice_key"]
    refused = upload(client, "notes.txt", b"some notes", key)
    assert refused.status_code == 503
    assert refused.get_json() == {"detail": BUSY}
    assert refused.headers["Retry-After"] == "30"
    assert file_rows(app) == [] and stored_names(app) == []
    # Storing without reading needs no slot.
    assert upload_ok(client, "later.txt", b"later", key, "?process=false")["data"]["status"]


@pytest.mark.parametrize("app_config", [ONE_SLOT_NO_QUEUE], indirect=True)
def test_reindexing_past_the_queue_is_refused_and_changes_nothing(app, client, signed_in, people):
    key = people["alice_key"]
    file_id = upload_ok(client, "notes.txt", b"pending notes", key, "?process=false")["id"]
    with app.app_context(), files.extraction_slots().held(0):
        again = client.post(
            "/api/v1/retrieval/process/file", json={"file_id": file_id}, headers=key
        )
        assert again.status_code == 503 and again.get_json() == {"detail": BUSY}
        page = signed_in.post(f"/workspace/files/{file_id}/process", follow_redirects=True)
        assert b"notes.txt was not indexed: The server is reading" in page.data
    assert statuses(client, key) == {"notes.txt": ("pending", None)}


@pytest.mark.parametrize("app_config", [ONE_SLOT_NO_QUEUE], indirect=True)
def test_the_form_past_the_queue_says_which_files_were_not_uploaded(app, signed_in, held_slot):
    page = post_form(signed_in, ("a.txt", b"alpha"), ("b.txt", b"beta"), ("c.txt", b"gamma"))
    assert page.status_code == 503
    assert b"a.txt was not uploaded: The server is reading the text of too many" in page.data
    assert b"Not uploaded either, for the same reason: b.txt, c.txt." in page.data
    assert file_rows(app) == [] and stored_names(app) == []


@pytest.mark.parametrize(
    "app_config",
    [{"EXTRACT_CONCURRENCY": 1, "EXTRACT_QUEUE": 1, "EXTRACT_QUEUE_SECONDS": 1}],
    indirect=True,
)
def test_an_upload_that_waits_too_long_for_a_slot_is_refused(app, client, people, held_slot):
    refused = upload(client, "notes.txt", b"some notes", people["alice_key"])
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
    assert file_rows(app) == []


@pytest.mark.parametrize(
    "app_config",
    [{"EXTRACT_CONCURRENCY": 1, "EXTRACT_QUEUE": 1, "EXTRACT_REQUEST_SECONDS": 1}],
    indirect=True,
)
def test_a_wait_that_outlasts_the_request_time_leaves_the_file_unindexed(
    app, client, people, held_slot
):
    stored = upload_ok(client, "notes.txt", b"some notes", people["alice_key"])
    assert stored["data"] == {"status": "failed", "error": time_ran_out(1)}
    assert stored_names(app) == [stored["id"]]


# --- under gunicorn, as deployed ----------------------------------------------------------


def extraction_children(worker: int) -> int:
    """Extraction processes the worker runs now (started by any of its threads)."""
    children = []
    for task in Path(f"/proc/{worker}/task").iterdir():
        try:
            children += (task / "children").read_text().split()
        except OSError:  # the thread ended meanwhile
            pass
    count = 0
    for child in children:
        try:
            count += b"extract.py" in Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:  # it ended meanwhile
            pass
    return count


@pytest.mark.slow
@pytest.mark.parametrize("worker_class", ["gevent", "gthread"])
def test_a_worker_reads_one_file_at_a_time_and_serves_meanwhile(
    app_config, people, tmp_path, worker_class
):
    """One slot and one place in the queue: of three slow uploads sent at once, one is read,
    one waits its turn and the third is refused at once; meanwhile the worker answers other
    requests (a waiting upload parks its greenlet or thread, not the worker)."""
    env = {
        "GUNICORN_WORKER_CLASS": worker_class,
        "EXTRACT_CONCURRENCY": "1",
        "EXTRACT_QUEUE": "1",
        "EXTRACT_QUEUE_SECONDS": "600",
        "EXTRACT_CPU_SECONDS": "2",  # each slow file is stopped after 2 s of CPU
    }
    database = app_config["SQLALCHEMY_DATABASE_URI"]
    with gunicorn_server(database, tmp_path, workers=1, threads=4, env=env) as server:
        [worker] = server.worker_pids()
        most, stop = [0], threading.Event()

        def count_children() -> None:
            while not stop.is_set():
                most[0] = max(most[0], extraction_children(worker))
                time.sleep(0.02)

        def slow_upload(number: int) -> httpx.Response:
            files = {"file": (f"slow-{number}.html", SLOW_HTML, "text/html")}
            return httpx.post(
                server.url + "/api/v1/files/", files=files, headers=people["alice_key"], timeout=600
            )

        counter = threading.Thread(target=count_children)
        counter.start()
        with ThreadPoolExecutor(3) as pool:
            uploads = [pool.submit(slow_upload, number) for number in range(3)]
            while not any(upload.done() for upload in uploads) and not most[0]:
                time.sleep(0.02)
            health = httpx.get(server.url + "/health", timeout=600)
            pending = sum(not upload.done() for upload in uploads)
            answers = [upload.result() for upload in uploads]
        stop.set()
        counter.join()
    assert health.status_code == 200 and pending >= 1
    assert sorted(answer.status_code for answer in answers) == [200, 200, 503]
    [refused] = [answer for answer in answers if answer.status_code == 503]
    assert refused.json() == {"detail": BUSY} and refused.headers["Retry-After"] == "600"
    assert most[0] == 1
