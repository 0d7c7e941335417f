"""gunicorn settings, as the README deploys the app: ``gunicorn -c gunicorn.conf.py wsgi:app``."""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threaded workers keep serving while some threads stream chat completions.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# Streamed answers can run for minutes; the upstream's own timeout ends stuck ones.
timeout = 300
graceful_timeout = 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
# gunicorn ≥ 25.1 opens a control socket at one fixed per-user path; several instances
# (tests, benchmarks, side-by-side deployments) would fight over it.
control_socket_disable = True
