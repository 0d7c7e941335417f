"""gunicorn settings, as the README deploys the app: ``gunicorn -c gunicorn.conf.py wsgi:app``.

gevent workers by default: a streamed chat waits on its model server for seconds to minutes,
and under gevent a waiting request is a greenlet (a few KB), not a thread, so one worker
holds thousands of them while it keeps answering pages. The worker patches the standard
library (sockets, ssl, threading, subprocess, time.sleep) in its own process before it
imports the app, which is why nothing here imports webui. GUNICORN_WORKER_CLASS=gthread
falls back to threaded workers (docs/deployment.md says when).
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gevent")
# gevent: open connections (streams, pages, kept-alive idle ones) per worker.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "2000"))
# gthread only: threads per worker; each open stream holds one.
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# Streamed answers can run for minutes; the upstream's own timeout ends stuck ones.
timeout = 300
graceful_timeout = 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
# gunicorn ≥ 25.1 opens a control socket at one fixed per-user path; several instances
# (tests, benchmarks, side-by-side deployments) would fight over it.
control_socket_disable = True
