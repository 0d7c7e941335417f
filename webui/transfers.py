"""Files over HTTP: receiving a multipart upload strictly and within the size limit, and
sending stored bytes back as a download no browser renders in place. Pages and the API
share it; the rules about files themselves are in ``services/files.py``."""

from flask import Response, request, send_file
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import BadRequest
from werkzeug.formparser import FormDataParser

from webui.errors import ServiceError
from webui.models import File
from webui.services import files


class StrictUploadParser(FormDataParser):
    """Werkzeug's parser drops a broken body silently, which would read as 'no file';
    this one answers 400 saying what is wrong with the upload."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.silent = False

    def parse(self, *args, **kwargs):
        try:
            return super().parse(*args, **kwargs)
        except UnicodeDecodeError:
            raise BadRequest(
                "The upload's part headers are not valid UTF-8, most likely the file name: "
                "rename the file, or send the name as filename*=UTF-8''<percent-encoded>."
            ) from None
        except ValueError as error:
            raise BadRequest(
                "The upload is not valid multipart/form-data or was cut off before its end "
                f"({error}); send the file again as the form field 'file'."
            ) from None


def prepare_upload_request() -> None:
    """Set the size limit and strict parsing before anything reads the body.

    Call it from a url_value_preprocessor: those run before the request guard,
    which reads the form (for the CSRF token) on browser uploads.
    """
    request.max_content_length = files.max_upload_bytes() + files.MULTIPART_ALLOWANCE
    request.form_data_parser_class = StrictUploadParser


def uploaded_file() -> FileStorage:
    """The ``file`` field of a multipart request, or 400 saying how to send one."""
    if request.mimetype != "multipart/form-data":
        raise ServiceError(
            400,
            "Send the file as multipart/form-data with the field 'file' "
            f"(got Content-Type {request.mimetype or 'none'}), e.g. curl -F file=@notes.pdf.",
        )
    upload = request.files.get("file")
    if upload is None:
        raise ServiceError(400, "No file received: the multipart field must be named 'file'.")
    return upload


def download_response(file: File) -> Response:
    """The stored bytes, streamed block by block, as an attachment that a browser will never
    render in place. The ETag is the content's SHA-256, the same on every host."""
    stored = files.open_stored(file)
    response = send_file(
        stored.stream,
        mimetype=files.served_content_type(file),
        as_attachment=True,
        download_name=file.filename,
        conditional=False,
        etag=file.sha256,
        max_age=0,
    )
    response.content_length = stored.size
    # Ranges need a stream that can seek (the local folder's file); If-None-Match works on both.
    response = response.make_conditional(
        request.environ, accept_ranges=stored.seekable, complete_length=stored.size
    )
    return hardened_download(response)


def hardened_download(response: Response) -> Response:
    """What every download carries: never sniffed, never run as a page, never cached."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def bytes_download(data: bytes, filename: str, mimetype: str) -> Response:
    """Bytes made on the fly (an export) as an attachment, hardened like a stored file."""
    response = Response(data, mimetype=mimetype)
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    return hardened_download(response)
