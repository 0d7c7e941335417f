"""Turning uploaded bytes into searchable text, and text into overlapping chunks.

Pure functions: no database, no Flask. ``extract_text`` raises ``ExtractionError``
with a sentence for a person when a file of a supported kind cannot be read.
"""

import csv
import io
import json
import os
import re
from html.parser import HTMLParser

# Kinds of file we can index, by extension first and declared content type second.
EXTENSION_KINDS = {
    ".txt": "text",
    ".text": "text",
    ".log": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".csv": "csv",
    ".json": "json",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}
CONTENT_TYPE_KINDS = {
    "text/plain": "text",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/csv": "csv",
    "application/json": "json",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
}
SUPPORTED_DESCRIPTION = "text, Markdown, CSV, JSON, HTML and PDF"


class ExtractionError(Exception):
    """A file of a supported kind whose text could not be read; the message says why."""


def kind_of(filename: str, content_type: str) -> str | None:
    """The extractor a file needs, or None when its type is not indexable."""
    extension = os.path.splitext(filename)[1].lower()
    if extension in EXTENSION_KINDS:
        return EXTENSION_KINDS[extension]
    return CONTENT_TYPE_KINDS.get(content_type)


def extract_text(data: bytes, kind: str) -> str:
    """The readable text of a file of the given kind; never empty."""
    text = EXTRACTORS[kind](data)
    if not text.strip():
        raise ExtractionError("No text could be extracted from this file.")
    return text


# --- one extractor per kind ---------------------------------------------------------


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) or UTF-16 with a BOM; Latin-1 as the last resort."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ExtractionError("The file claims to be UTF-16 text but is not.") from None
    if b"\x00" in data:
        raise ExtractionError("The file holds binary data, not text.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def extract_csv(data: bytes) -> str:
    """One line per row, each value labelled with its column header."""
    text = decode_text(data)
    try:
        rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    except csv.Error as error:
        raise ExtractionError(f"The CSV file could not be read: {error}.") from None
    if len(rows) < 2:
        return "\n".join(", ".join(row) for row in rows)
    header, body = rows[0], rows[1:]
    lines = []
    for row in body:
        pairs = [
            f"{name}: {value}" for name, value in zip(header, row, strict=False) if value.strip()
        ]
        pairs.extend(row[len(header) :])
        lines.append("; ".join(pairs))
    return "\n".join(lines)


def extract_json(data: bytes) -> str:
    text = decode_text(data)
    try:
        json.loads(text)
    except ValueError as error:
        raise ExtractionError(f"The file is not valid JSON: {error}.") from None
    return text


class _HTMLText(HTMLParser):
    """Collects the visible text of a page; scripts, styles and markup are dropped."""

    SKIPPED = {"script", "style", "template", "noscript", "head"}
    BLOCKS = {
        "p",
        "div",
        "br",
        "li",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "section",
        "article",
        "header",
        "footer",
        "pre",
        "blockquote",
        "table",
        "ul",
        "ol",
        "title",
    }

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIPPED and self.skipping:
            self.skipping -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def extract_html(data: bytes) -> str:
    parser = _HTMLText()
    parser.feed(decode_text(data))
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def extract_pdf(data: bytes) -> str:
    from pypdf import PdfReader

    if not data.lstrip()[:5].startswith(b"%PDF-"):
        raise ExtractionError("The file is not a PDF (it does not start with %PDF-).")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionError("The PDF is encrypted with a password; upload an unlocked copy.")
        pages = [page.extract_text() or "" for page in reader.pages]
    except ExtractionError:
        raise
    except Exception as error:  # pypdf raises many types for damaged files
        raise ExtractionError(f"The PDF could not be read: {error}".rstrip(".") + ".") from None
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        raise ExtractionError("The PDF has no text layer (scanned pages are not read).")
    return text


EXTRACTORS = {
    "text": decode_text,
    "markdown": decode_text,
    "csv": extract_csv,
    "json": extract_json,
    "html": extract_html,
    "pdf": extract_pdf,
}


# --- chunking -----------------------------------------------------------------------

# Where a chunk prefers to end, best first: a paragraph, a line, a sentence, a word.
BREAKS = [re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"[.!?]\s"), re.compile(r"\s")]


def _break_point(text: str, start: int, end: int) -> int:
    """The best place to end a chunk in text[start:end], in its second half if possible."""
    window = text[start:end]
    for pattern in BREAKS:
        matches = [m.end() for m in pattern.finditer(window) if m.end() > len(window) // 2]
        if matches:
            return start + matches[-1]
    return end


def split_into_chunks(text: str, size: int, overlap: int) -> list[str]:
    """Pieces of at most ``size`` characters; each starts ``overlap`` characters
    before the previous one ended, so a passage cut in two is whole in one of them."""
    text = text.strip()
    overlap = max(0, min(overlap, size // 2))  # always move forward
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = len(text) if len(text) - start <= size else _break_point(text, start, start + size)
        chunk = text[start:end].strip()
        if chunk:
            chunks.append(chunk)
        if end >= len(text):
            break
        next_start = end - overlap
        # Start the overlap at a word boundary rather than mid-word.
        space = text.find(" ", next_start, end)
        start = space + 1 if overlap and space != -1 else next_start
    return chunks
