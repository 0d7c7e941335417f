"""Turning uploaded bytes into searchable text, and text into overlapping chunks.

Pure functions: no database, no Flask. ``extract_chunks`` raises ``ExtractionError``
with a sentence for a person when a file of a supported kind cannot be read, or when its
text passes the character or chunk cap (each extractor stops as soon as it does).

The app does not extract text in its own process: ``extract_process.py`` runs this file as
a script in a child process under CPU, memory and time limits (``main`` below).
"""

import csv
import io
import json
import logging
import os
import re
import resource
import sys
from collections.abc import Iterator
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


def text_too_long(max_chars: int) -> ExtractionError:
    return ExtractionError(
        f"Text extraction stopped: the file's text is longer than {max_chars:,} characters; "
        "split it into smaller files."
    )


def too_many_chunks(max_chunks: int, size: int) -> ExtractionError:
    return ExtractionError(
        f"Text extraction stopped: the file's text makes more than {max_chunks:,} chunks of "
        f"{size:,} characters; split it into smaller files."
    )


def kind_of(filename: str, content_type: str) -> str | None:
    """The extractor a file needs, or None when its type is not indexable."""
    extension = os.path.splitext(filename)[1].lower()
    if extension in EXTENSION_KINDS:
        return EXTENSION_KINDS[extension]
    return CONTENT_TYPE_KINDS.get(content_type)


def extract_text(data: bytes, kind: str, max_chars: int) -> str:
    """The readable text of a file of the given kind; never empty, at most max_chars long."""
    text = EXTRACTORS[kind](data, max_chars)
    if len(text) > max_chars:
        raise text_too_long(max_chars)
    if not text.strip():
        raise ExtractionError("No text could be extracted from this file.")
    return text


def extract_chunks(
    data: bytes, kind: str, size: int, overlap: int, max_chars: int, max_chunks: int
) -> list[str]:
    """The file's text split into chunks, within the character and chunk caps."""
    chunks: list[str] = []
    for chunk in iter_chunks(extract_text(data, kind, max_chars), size, overlap):
        if len(chunks) == max_chunks:
            raise too_many_chunks(max_chunks, size)
        chunks.append(chunk)
    return chunks


# --- one extractor per kind: (data, max_chars) -> text --------------------------------
# The caller checks the final length; an extractor whose text can grow past its input
# (CSV labels every value with its column) checks as it goes.


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


def extract_plain(data: bytes, max_chars: int) -> str:
    return decode_text(data)


def extract_csv(data: bytes, max_chars: int) -> str:
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
    length = 0
    for row in body:
        pairs = [
            f"{name}: {value}" for name, value in zip(header, row, strict=False) if value.strip()
        ]
        pairs.extend(row[len(header) :])
        lines.append("; ".join(pairs))
        # A long header repeated on every row: a small file can make a huge text.
        length += len(lines[-1]) + 1
        if length > max_chars + 1:
            raise text_too_long(max_chars)
    return "\n".join(lines)


def extract_json(data: bytes, max_chars: int) -> str:
    text = decode_text(data)
    if len(text) > max_chars:
        raise text_too_long(max_chars)
    try:
        json.loads(text)
    except ValueError as error:
        raise ExtractionError(f"The file is not valid JSON: {error}.") from None
    except RecursionError:
        raise ExtractionError("The JSON file nests too deeply to be read.") from None
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

    def __init__(self, max_chars: int):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.max_chars = max_chars
        self.visible = 0  # characters other than whitespace: a lower bound of the length

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
            self.visible += sum(map(len, data.split()))
            if self.visible > self.max_chars:
                raise text_too_long(self.max_chars)


def extract_html(data: bytes, max_chars: int) -> str:
    parser = _HTMLText(max_chars)
    parser.feed(decode_text(data))
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def extract_pdf(data: bytes, max_chars: int) -> str:
    from pypdf import PdfReader

    if not data.lstrip()[:5].startswith(b"%PDF-"):
        raise ExtractionError("The file is not a PDF (it does not start with %PDF-).")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionError("The PDF is encrypted with a password; upload an unlocked copy.")
        pages = []
        length = 0
        for page in reader.pages:
            if page_text := (page.extract_text() or "").strip():
                pages.append(page_text)
                length += len(page_text) + 2
                if length > max_chars + 2:
                    raise text_too_long(max_chars)
    except (ExtractionError, MemoryError):
        raise
    except Exception as error:  # pypdf raises many types for damaged files
        raise ExtractionError(f"The PDF could not be read: {error}".rstrip(".") + ".") from None
    text = "\n\n".join(pages)
    if not text:
        raise ExtractionError("The PDF has no text layer (scanned pages are not read).")
    return text


EXTRACTORS = {
    "text": extract_plain,
    "markdown": extract_plain,
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
    return list(iter_chunks(text, size, overlap))


def iter_chunks(text: str, size: int, overlap: int) -> Iterator[str]:
    """The pieces of ``split_into_chunks``, one at a time."""
    text = text.strip()
    overlap = max(0, min(overlap, size // 2))  # always move forward
    start = 0
    while start < len(text):
        end = len(text) if len(text) - start <= size else _break_point(text, start, start + size)
        chunk = text[start:end].strip()
        if chunk:
            yield chunk
        if end >= len(text):
            break
        next_start = end - overlap
        # Start the overlap at a word boundary rather than mid-word.
        space = text.find(" ", next_start, end)
        start = space + 1 if overlap and space != -1 else next_start


# --- the child process ----------------------------------------------------------------
# extract_process.py starts ``python -I extract.py OPTIONS`` (OPTIONS: JSON naming the
# arguments of extract_chunks plus cpu_seconds and memory_bytes), writes the file's bytes
# to stdin and reads one JSON object from stdout: {"chunks": [...]}, {"error": "..."}
# or {"limit": "memory"}. Reaching the CPU-time limit kills the process (SIGKILL).


def limit_this_process(cpu_seconds: int, memory_bytes: int) -> None:
    """Hard limits: killed after cpu_seconds of CPU, MemoryError past memory_bytes."""
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main() -> None:
    options = json.loads(sys.argv[1])
    limit_this_process(options.pop("cpu_seconds"), options.pop("memory_bytes"))
    logging.disable()  # pypdf warns on every damaged object: no flood on stderr
    try:
        output = json.dumps({"chunks": extract_chunks(sys.stdin.buffer.read(), **options)})
    except ExtractionError as error:
        output = json.dumps({"error": str(error)})
    except MemoryError:
        output = json.dumps({"limit": "memory"})
    sys.stdout.write(output)


if __name__ == "__main__":
    main()
