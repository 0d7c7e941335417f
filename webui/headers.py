"""The hardening headers every response carries: one policy, added to every response on
its way out of the app.

Pages load scripts and styles only from ``/static`` (no inline ``<script>``, no ``on…=``
attributes, no ``style=``), so the Content-Security-Policy needs no ``'unsafe-inline'``.
A header a view already set wins: downloads keep their own ``sandbox`` policy.

They are added where the app hands its status and headers to the server (a small WSGI
wrapper): there the headers are a plain list, and appending to it costs next to nothing,
while setting them on Flask's ``Response`` checks and copies every value.
"""

from flask import Flask

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)

# On every response, whatever its type.
ALWAYS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
)
# On pages also the policy, which describes what an HTML document may load and run.
ON_PAGES = (*ALWAYS, ("Content-Security-Policy", CONTENT_SECURITY_POLICY))


def policy_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The policy's headers that ``headers`` (a WSGI header list) does not set already."""
    present = {}
    for name, value in headers:
        present[name.lower()] = value
    mimetype = present.get("content-type", "").partition(";")[0].strip().lower()
    policy = ON_PAGES if mimetype == "text/html" else ALWAYS
    return [(name, value) for name, value in policy if name.lower() not in present]


class SecurityHeaders:
    """WSGI middleware: every response leaves with the policy's headers."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        def start_with_policy(status, headers, exc_info=None):
            headers.extend(policy_headers(headers))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start_with_policy)


def register_security_headers(app: Flask) -> None:
    app.wsgi_app = SecurityHeaders(app.wsgi_app)
