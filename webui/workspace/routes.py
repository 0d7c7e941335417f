"""Workspace > Files and Workspace > Knowledge: the browser side of files and retrieval."""

from flask import current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from webui import transfers
from webui.errors import ServiceError, json_error
from webui.forms import EmptyForm
from webui.models import Group
from webui.security.permissions import has_permission, require_permission
from webui.services import files, groups, knowledge, retrieval, users
from webui.workspace import bp
from webui.workspace.forms import MAX_TEXT, AddFileForm, KnowledgeForm, TextForm, UploadForm

UPLOAD_ENDPOINT = "workspace.upload_file"
KNOWLEDGE_UPLOAD_ENDPOINT = "workspace.upload_to_knowledge"
PAGE_SIZE = 100


# --- Files ----------------------------------------------------------------------------


@bp.url_value_preprocessor
def _limit_upload(endpoint, _values):
    # Before the request guard reads the form for its CSRF token.
    if endpoint in (UPLOAD_ENDPOINT, KNOWLEDGE_UPLOAD_ENDPOINT):
        transfers.prepare_upload_request()


def wants_json() -> bool:
    """static/upload.js sends one file per request and reads the answer as JSON."""
    return request.accept_mimetypes.best == "application/json"


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error):
    # The body was refused unread, so no form on this request can be rendered from it.
    if wants_json():
        return json_error(413, files.too_large_message())
    flash(files.too_large_message(), "error")
    if request.endpoint == KNOWLEDGE_UPLOAD_ENDPOINT:
        return redirect(url_for("workspace.knowledge_detail", **request.view_args))
    return redirect(url_for("workspace.files"))


def render_files(status: int = 200, form: UploadForm | None = None):
    items, total = files.list_files(g.principal, 1, PAGE_SIZE)
    return render_template(
        "workspace/files.html",
        form=form or UploadForm(),
        items=items,
        total=total,
        may_upload=has_permission(g.principal, "chat.file_upload"),
        max_upload_bytes=files.max_upload_bytes(),
        max_files=current_app.config["EXTRACT_MAX_FILES_PER_REQUEST"],
        too_large_message=files.too_large_message(),
        owners=users.names_by_id({file.user_id for file in items}),
        empty=EmptyForm(),
    ), status


@bp.get("/files", endpoint="files")
def files_page():
    return render_files()


@bp.post("/files")
@require_permission("chat.file_upload")
def upload_file():
    """The plain form (several files in one request); with JavaScript, static/upload.js sends
    each file to POST /api/v1/files/ instead, to show its progress."""
    form = UploadForm()
    if not form.validate_on_submit():
        flash("The upload was refused; reload the page and try again.", "error")
        return render_files(400, form)
    uploads = chosen_uploads()
    if not uploads:
        return render_files(400, form)
    stored, refusal = store_each(uploads, lambda upload: store_one(upload, form.extract.data))
    if not stored:
        return render_files(refusal.status, form)
    return redirect(url_for("workspace.files"))


def chosen_uploads() -> list:
    """The files of a plain multi-file form; none (with a flash saying why) when there are
    none or too many."""
    uploads = [upload for upload in request.files.getlist("file") if upload.filename]
    if not uploads:
        flash("Choose a file to upload.", "error")
        return []
    most = current_app.config["EXTRACT_MAX_FILES_PER_REQUEST"]
    if len(uploads) > most:
        flash(
            f"You chose {len(uploads)} files; upload at most {most} at a time. "
            "Nothing was uploaded.",
            "error",
        )
        return []
    return uploads


def store_each(uploads: list, store) -> tuple[int, ServiceError | None]:
    """Store the uploads one after another with ``store`` (which flashes how each went); how
    many were stored, and the last refusal. When the server is too busy to read one, the rest
    are not tried: they would wait too."""
    stored, refusal = 0, None
    for number, upload in enumerate(uploads):
        error = store(upload)
        if error is None:
            stored += 1
            continue
        refusal = error
        if error.status == 503 and uploads[number + 1 :]:
            names = ", ".join(files.safe_filename(u.filename) for u in uploads[number + 1 :])
            flash(f"Not uploaded either, for the same reason: {names}.", "error")
            break
    return stored, refusal


def store_one(upload, process: bool) -> ServiceError | None:
    """Store one upload and flash how it went; the refusal, if any, for the status."""
    try:
        file = files.store_upload(g.principal, upload, process=process)
    except ServiceError as error:
        flash(f"{files.safe_filename(upload.filename)} was not uploaded: {error.detail}", "error")
        return error
    if file.status == "failed":
        flash(f"{file.filename} was stored but not indexed: {file.error}", "info")
    else:
        flash(f"{file.filename} uploaded.", "success")
    return None


@bp.post("/files/<file_id>/delete")
def delete_file(file_id: str):
    file = files.get_file_for(g.principal, file_id)
    if EmptyForm().validate_on_submit():
        files.delete_file(file)
        flash(f"{file.filename} deleted.", "success")
    return redirect(url_for("workspace.files"))


@bp.post("/files/<file_id>/process")
def process_file(file_id: str):
    file = files.get_file_for(g.principal, file_id)
    try:
        file = files.reprocess(file)
    except ServiceError as error:  # the server too busy to read it, the storage unreachable
        flash(f"{file.filename} was not indexed: {error.detail}", "error")
        return redirect(url_for("workspace.files"))
    if file.status == "completed":
        flash(f"{file.filename} indexed ({len(file.chunks)} chunks).", "success")
    else:
        flash(f"{file.filename} could not be indexed: {file.error}", "error")
    return redirect(url_for("workspace.files"))


# --- Knowledge ------------------------------------------------------------------------


def render_knowledge_list(status: int = 200, form: KnowledgeForm | None = None):
    collections = knowledge.list_readable(g.principal)
    return render_template(
        "workspace/knowledge.html",
        form=form or KnowledgeForm(),
        collections=collections,
        owners=users.names_by_id({collection.user_id for collection in collections}),
        may_create=has_permission(g.principal, "workspace.knowledge"),
    ), status


@bp.get("/knowledge", endpoint="knowledge")
def knowledge_page():
    return render_knowledge_list()


@bp.post("/knowledge")
@require_permission("workspace.knowledge")
def create_knowledge():
    form = KnowledgeForm()
    if not form.validate_on_submit():
        flash("The collection was not created; see the message below.", "error")
        return render_knowledge_list(400, form)
    try:
        collection = knowledge.create(g.principal, form.name.data, form.description.data)
    except ServiceError as error:
        flash(error.detail, "error")
        return render_knowledge_list(error.status, form)
    flash(f"Collection {collection.name!r} created; add files to it below.", "success")
    return redirect(url_for("workspace.knowledge_detail", knowledge_id=collection.id))


def shareable_groups(collection) -> list[Group]:
    """Admins may pick any group; others their own groups and those already chosen."""
    if g.principal.is_admin:
        return groups.all_groups()
    own = groups.groups_by_ids(g.principal.group_ids)
    chosen = {group.id: group for group in [*own, *collection.groups]}
    return sorted(chosen.values(), key=lambda group: group.name)


def run_query(collection, text: str) -> list[tuple[str, dict, float]]:
    """Ranked passages for the query box: (text, metadata, score), best first."""
    if not text.strip():
        return []
    result = retrieval.query(g.principal, [collection.id], text, 10)
    columns = (result["documents"][0], result["metadatas"][0], result["distances"][0])
    return list(zip(*columns, strict=True))


def render_knowledge_detail(
    collection,
    status: int = 200,
    form: KnowledgeForm | None = None,
    text_form: TextForm | None = None,
):
    may_change = knowledge.may_change(g.principal, collection)
    add_form = AddFileForm()
    present = {file.id for file in collection.files}
    add_form.file_id.choices = [
        (file.id, file.filename)
        for file in files.indexed_files(g.principal)
        if file.id not in present
    ]
    query_text = request.args.get("q", "")
    try:
        passages = run_query(collection, query_text)
    except ServiceError as error:
        flash(error.detail, "error")
        passages = []
    return render_template(
        "workspace/knowledge_detail.html",
        collection=collection,
        may_change=may_change,
        form=form or KnowledgeForm(obj=collection),
        add_form=add_form,
        groups=shareable_groups(collection) if may_change else collection.groups,
        shared_ids={group.id for group in collection.groups},
        query_text=query_text,
        passages=passages,
        empty=EmptyForm(),
        upload_form=UploadForm(),
        text_form=text_form or TextForm(),
        max_text=MAX_TEXT,
        may_upload=may_change and has_permission(g.principal, "chat.file_upload"),
        max_upload_bytes=files.max_upload_bytes(),
        max_files=current_app.config["EXTRACT_MAX_FILES_PER_REQUEST"],
        too_large_message=files.too_large_message(),
    ), status


@bp.get("/knowledge/<knowledge_id>")
def knowledge_detail(knowledge_id: str):
    return render_knowledge_detail(knowledge.get_readable(g.principal, knowledge_id))


@bp.post("/knowledge/<knowledge_id>/update")
def update_knowledge(knowledge_id: str):
    collection = knowledge.get_changeable(g.principal, knowledge_id)
    form = KnowledgeForm()
    if not form.validate_on_submit():
        flash("Nothing was saved; see the message below.", "error")
        return render_knowledge_detail(collection, 400, form)
    changes = {
        "name": form.name.data,
        "description": form.description.data,
        "group_ids": request.form.getlist("group"),
    }
    try:
        knowledge.update(g.principal, collection, changes)
    except ServiceError as error:
        flash(f"Nothing was saved: {error.detail}", "error")
        return render_knowledge_detail(collection, error.status, form)
    flash("Collection saved.", "success")
    return redirect(url_for("workspace.knowledge_detail", knowledge_id=collection.id))


@bp.post("/knowledge/<knowledge_id>/files/add")
def add_knowledge_file(knowledge_id: str):
    collection = knowledge.get_changeable(g.principal, knowledge_id)
    form = AddFileForm()
    if form.validate_on_submit():
        try:
            file = files.get_file_for(g.principal, form.file_id.data or "")
            knowledge.add_file(collection, file)
        except ServiceError as error:
            flash(error.detail, "error")
        else:
            flash(f"{file.filename} added.", "success")
    return redirect(url_for("workspace.knowledge_detail", knowledge_id=collection.id))


@bp.post("/knowledge/<knowledge_id>/files/upload")
@require_permission("chat.file_upload")
def upload_to_knowledge(knowledge_id: str):
    """Files stored, indexed and added to this collection: the plain form sends several and
    lands back here with a flash for each; static/upload.js sends one at a time for JSON."""
    collection = knowledge.get_changeable(g.principal, knowledge_id)
    back = redirect(url_for("workspace.knowledge_detail", knowledge_id=collection.id))
    if wants_json():
        return add_one_as_json(collection)
    if not UploadForm().validate_on_submit():
        flash("The upload was refused; reload the page and try again.", "error")
        return back
    uploads = chosen_uploads()
    if uploads:
        store_each(uploads, lambda upload: add_one(collection, upload))
    return back


def add_one(collection, upload) -> ServiceError | None:
    """Store, index and add one upload, and flash how it went; the refusal, if any."""
    try:
        file = knowledge.store_and_add(g.principal, collection, upload)
    except ServiceError as error:
        flash(f"{files.safe_filename(upload.filename)} was not added: {error.detail}", "error")
        return error
    flash(f"{file.filename} stored, indexed and added.", "success")
    return None


def add_one_as_json(collection):
    try:
        file = knowledge.store_and_add(g.principal, collection, transfers.uploaded_file())
    except ServiceError as error:
        return json_error(error.status, error.detail)
    return {"id": file.id, "filename": file.filename, "data": {"status": file.status}}


@bp.post("/knowledge/<knowledge_id>/text")
@require_permission("chat.file_upload")
def add_knowledge_text(knowledge_id: str):
    collection = knowledge.get_changeable(g.principal, knowledge_id)
    form = TextForm()
    if not form.validate_on_submit():
        flash("The text was not added; see the message below.", "error")
        return render_knowledge_detail(collection, 400, text_form=form)
    upload = files.text_upload(f"{form.title.data.strip()}.{form.kind.data}", form.content.data)
    try:
        file = knowledge.store_and_add(g.principal, collection, upload)
    except ServiceError as error:
        flash(f"The text was not added: {error.detail}", "error")
        return render_knowledge_detail(collection, error.status, text_form=form)
    flash(f"{file.filename} stored, indexed and added.", "success")
    # To the list that now holds it (the form's own #add-text would stay behind otherwise).
    return redirect(
        url_for("workspace.knowledge_detail", knowledge_id=collection.id, _anchor="file-list")
    )


@bp.post("/knowledge/<knowledge_id>/files/<file_id>/remove")
def remove_knowledge_file(knowledge_id: str, file_id: str):
    collection = knowledge.get_changeable(g.principal, knowledge_id)
    if EmptyForm().validate_on_submit():
        try:
            knowledge.remove_file(collection, file_id)
        except ServiceError as error:
            flash(error.detail, "error")
        else:
            flash("File removed from the collection.", "success")
    return redirect(url_for("workspace.knowledge_detail", knowledge_id=collection.id))


@bp.post("/knowledge/<knowledge_id>/delete")
def delete_knowledge(knowledge_id: str):
    collection = knowledge.get_changeable(g.principal, knowledge_id)
    if EmptyForm().validate_on_submit():
        knowledge.delete(collection)
        flash(f"Collection {collection.name!r} deleted; its files are kept.", "success")
    return redirect(url_for("workspace.knowledge"))
