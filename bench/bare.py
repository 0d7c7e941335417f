"""The baseline: a bare Flask app with one ``/health`` route answering what ours answers.

``bench/run.py`` serves it with the same gunicorn config as the app
(``gunicorn -c gunicorn.conf.py bench.bare:app``) and ``bench/inprocess.py`` calls it
directly, so every "vs bare" figure compares our app with the framework's own floor.
"""

from flask import Flask, jsonify


def create_bare_app() -> Flask:
    app = Flask(__name__)

    @app.get("/health")
    def health():
        return jsonify(status=True)

    return app


app = create_bare_app()
