"""What the app keeps on disk is readable by its own user alone."""

import os
import stat

from tests.support.files import upload_ok
from webui import create_app


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_instance_database_and_uploads_are_owner_only(tmp_path, monkeypatch, app_config):
    monkeypatch.chdir(tmp_path)
    old_umask = os.umask(0o022)  # the usual default, under which files come out 0644
    try:
        database = tmp_path / "data" / "webui.sqlite"
        database.parent.mkdir()
        uploads = tmp_path / "data" / "uploads"
        app = create_app(
            {
                **app_config,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
                "UPLOAD_DIR": str(uploads),
            }
        )
        with app.app_context():
            from webui.extensions import db

            db.create_all()
        assert mode(app.instance_path) == 0o700
        assert mode(uploads) == 0o700
        assert mode(database) == 0o600
    finally:
        os.umask(old_umask)


def test_an_uploaded_file_is_owner_only(client, people_with_keys, app):
    people = people_with_keys("alice")
    old_umask = os.umask(0o022)
    try:
        upload_ok(client, "note.txt", b"private words", people["alice_key"])
    finally:
        os.umask(old_umask)
    stored = [
        os.path.join(app.config["UPLOAD_DIR"], name)
        for name in os.listdir(app.config["UPLOAD_DIR"])
    ]
    assert stored and all(mode(path) == 0o600 for path in stored)
