"""What the files, knowledge and retrieval tests upload and look at: real PDFs, uploads
through the API, raw multipart bodies, and direct looks at the database and the upload folder."""

import io
import os

import sqlalchemy as sa

from webui.extensions import db
from webui.models import File, FileChunk

BOUNDARY = "rag-test-boundary"


def pdf_of(objects: list[bytes]) -> bytes:
    """A PDF file of these numbered objects (object 1 the catalog), with its xref table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def make_pdf(*lines: str) -> bytes:
    """A small, valid one-page PDF whose text layer holds the given lines."""

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    operations = ["BT", "/F1 12 Tf", "72 720 Td"]
    for number, line in enumerate(lines):
        if number:
            operations.append("0 -16 Td")
        operations.append(f"({escape(line)}) Tj")
    operations.append("ET")
    stream = "\n".join(operations).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return pdf_of(objects)


def upload(client, name: str, data: bytes, headers=None, query: str = "", content_type=None):
    """POST /api/v1/files/ the ordinary way (the test client builds the multipart body)."""
    file_field = (
        (io.BytesIO(data), name, content_type) if content_type else (io.BytesIO(data), name)
    )
    return client.post(
        "/api/v1/files/" + query,
        data={"file": file_field},
        headers=headers or {},
        content_type="multipart/form-data",
    )


def upload_ok(client, name: str, data: bytes, headers=None, query: str = "") -> dict:
    response = upload(client, name, data, headers, query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def raw_part(disposition: bytes, data: bytes, content_type: bytes = b"text/plain") -> bytes:
    """One multipart part with a hand-written Content-Disposition (any bytes at all)."""
    return (
        b"--"
        + BOUNDARY.encode()
        + b"\r\nContent-Disposition: "
        + disposition
        + b"\r\nContent-Type: "
        + content_type
        + b"\r\n\r\n"
        + data
        + b"\r\n"
    )


def raw_upload(client, body: bytes, headers=None):
    return client.post(
        "/api/v1/files/",
        data=body,
        headers=headers or {},
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )


def closed(*parts: bytes) -> bytes:
    return b"".join(parts) + b"--" + BOUNDARY.encode() + b"--\r\n"


def stored_names(app) -> list[str]:
    """What is in the upload folder (temporary files included)."""
    folder = app.config["UPLOAD_DIR"]
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def file_rows(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(File.id)))


def chunk_texts(app, file_id: str) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(FileChunk.text)
                .where(FileChunk.file_id == file_id)
                .order_by(FileChunk.chunk_index)
            )
        )
