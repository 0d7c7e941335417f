"""Bounds on text extraction (issue 13, finding 3): caps on characters and chunks, CPU time,
wall-clock time and memory. A file that reaches one is stored, answered with 200 and marked
failed with a sentence that names the limit; re-processing goes through the same bounds.

The limits are lowered here so that reaching them is quick."""

import pytest

from tests.support.files import chunk_texts, pdf_of, stored_names, upload_ok
from webui.services import extract

MAX_CHARACTERS = 100_000
MAX_CHUNKS = 50


@pytest.fixture
def app_config(app_config):
    return {
        **app_config,
        "EXTRACT_MAX_CHARACTERS": MAX_CHARACTERS,
        "EXTRACT_MAX_CHUNKS": MAX_CHUNKS,
        "EXTRACT_CPU_SECONDS": 1,
        # Far above the CPU limit, so a busy machine still meets the CPU limit first.
        "EXTRACT_TIMEOUT_SECONDS": 120,
        "EXTRACT_MEMORY_MB": 512,
    }


@pytest.fixture
def alice(people_with_keys):
    return people_with_keys("alice")["alice_key"]


def upload_failed(app, client, key, name: str, data: bytes, error: str) -> str:
    """Upload, expect 200 with status failed and exactly ``error``, the bytes kept, no chunks."""
    body = upload_ok(client, name, data, key)
    assert body["data"] == {"status": "failed", "error": error}
    assert body["id"] in stored_names(app)
    assert chunk_texts(app, body["id"]) == []
    status = client.get(f"/api/v1/files/{body['id']}/process/status", headers=key).get_json()
    assert status == {"status": "failed", "error": error}
    return body["id"]


def too_long(max_chars: int = MAX_CHARACTERS) -> str:
    return (
        f"Text extraction stopped: the file's text is longer than {max_chars:,} characters; "
        "split it into smaller files."
    )


CPU_LIMIT_REACHED = (
    "Text extraction stopped: reading the file took more than 1 s of CPU time; "
    "split it into smaller files, or upload its text as plain text."
)


def labelled_csv(header_length: int, rows: int) -> bytes:
    """A CSV whose one long column name is repeated on every row of the extracted text."""
    return ("c" * header_length + "\n" + "x\n" * rows).encode()


# The stdlib HTML parser rescans an unclosed tag from each "<" at close(): quadratic.
# 24 KB of it take about 5 s of CPU in Python 3.11.
SLOW_HTML = b"<a " * 8000


def shared_stream_pdf(pages: int, operations: bytes) -> bytes:
    """A PDF of ``pages`` pages that all draw the one content stream ``operations``."""
    stream = b"BT /F1 12 Tf 72 720 Td " + operations + b" ET"
    kids = b" ".join(b"%d 0 R" % (5 + page) for page in range(pages))
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R "
        b"/Resources << /Font << /F1 4 0 R >> >> >>"
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        *[page] * pages,
    ]
    return pdf_of(objects)


# --- caps on characters and chunks -------------------------------------------------------


def test_csv_that_expands_past_the_character_cap_fails(app, client, alice):
    # 1 KB of input, 200,000 characters of text: the column name is repeated on each row.
    upload_failed(app, client, alice, "wide.csv", labelled_csv(1000, 200), too_long())


def test_pdf_whose_text_passes_the_character_cap_fails(app, client, alice):
    data = shared_stream_pdf(500, b"(" + b"many words " * 100 + b") Tj")
    upload_failed(app, client, alice, "long.pdf", data, too_long())


def test_text_that_makes_too_many_chunks_fails(app, client, alice):
    paragraph = "A sentence that says something. " * 30  # ~1,000 characters, one chunk each
    data = "\n\n".join([paragraph] * (MAX_CHUNKS + 10)).encode()
    assert len(data) < MAX_CHARACTERS
    error = (
        f"Text extraction stopped: the file's text makes more than {MAX_CHUNKS} chunks of "
        "1,000 characters; split it into smaller files."
    )
    upload_failed(app, client, alice, "many.txt", data, error)


@pytest.mark.parametrize(
    ("extractor", "data"),
    [
        # 200 M characters in full (the finding's CSV), from 300 KB.
        (extract.extract_csv, labelled_csv(100_000, 2000)),
        (extract.extract_json, b'["' + b"x" * 200_000 + b'"]'),
        (extract.extract_html, b"<p>" + b"word " * 40_000 + b"</p>"),
        (extract.extract_pdf, shared_stream_pdf(50, b"(" + b"many words " * 100 + b") Tj")),
    ],
    ids=["csv", "json", "html", "pdf"],
)
def test_extractors_stop_as_soon_as_the_cap_is_passed(extractor, data):
    with pytest.raises(extract.ExtractionError) as raised:
        extractor(data, 1000)
    assert str(raised.value) == too_long(1000)


def test_text_within_the_caps_is_still_indexed(app, client, alice):
    body = upload_ok(client, "fine.csv", labelled_csv(10, 50), alice)
    assert body["data"] == {"status": "completed"}
    assert chunk_texts(app, body["id"]) == ["\n".join(["cccccccccc: x"] * 50)]


# --- limits on the child process ----------------------------------------------------------


def test_html_that_is_slow_to_parse_stops_at_the_cpu_limit(app, client, alice):
    upload_failed(app, client, alice, "slow.html", SLOW_HTML, CPU_LIMIT_REACHED)


def test_pdf_pages_sharing_one_content_stream_stop_at_the_cpu_limit(app, client, alice):
    # 2,000 pages parse the same 2 KB of operators again each: about 7 s of CPU in full.
    data = shared_stream_pdf(2000, b"(Hello) Tj " + b"0 0 Td " * 300)
    upload_failed(app, client, alice, "pages.pdf", data, CPU_LIMIT_REACHED)


def test_extraction_stops_at_the_wall_clock_limit(app, client, alice):
    app.config.update(EXTRACT_CPU_SECONDS=60, EXTRACT_TIMEOUT_SECONDS=0.5)
    error = (
        "Text extraction stopped: reading the file took longer than 0.5 s; try again later, "
        "or split it into smaller files."
    )
    upload_failed(app, client, alice, "slow.html", SLOW_HTML, error)


def test_extraction_stops_at_the_memory_limit(app, client, alice):
    # Without a character cap, the finding's CSV needs far more than 128 MB.
    app.config.update(EXTRACT_MAX_CHARACTERS=10**9, EXTRACT_MEMORY_MB=128)
    error = (
        "Text extraction stopped: reading the file needed more than 128 MB of memory; "
        "split it into smaller files, or upload its text as plain text."
    )
    upload_failed(app, client, alice, "wide.csv", labelled_csv(100_000, 2000), error)


# --- re-processing ----------------------------------------------------------------------------


def test_reprocessing_goes_through_the_same_bounds(app, client, alice):
    data = b"Quarterly numbers, region by region. " * 100
    file_id = upload_ok(client, "report.txt", data, alice)["id"]
    assert chunk_texts(app, file_id)

    app.config["EXTRACT_MAX_CHARACTERS"] = 1000
    response = client.post(
        "/api/v1/retrieval/process/file", json={"file_id": file_id}, headers=alice
    )
    assert response.status_code == 200
    assert response.get_json()["data"] == {"status": "failed", "error": too_long(1000)}
    # The old chunks are gone with the old status: nothing half-written is left to search.
    assert chunk_texts(app, file_id) == []


def test_a_crash_of_the_child_is_logged_and_the_upload_kept(
    app, client, alice, monkeypatch, caplog
):
    # A kind the child has no extractor for stands in for a bug in a parser.
    monkeypatch.setattr(extract, "kind_of", lambda filename, content_type: "no-such-kind")
    upload_failed(app, client, alice, "a.txt", b"text", "The file's text could not be read.")
    assert "KeyError: 'no-such-kind'" in caplog.text
