"""The hardening headers every response carries: one policy, set after every view.

Pages load scripts and styles only from ``/static`` (no inline ``<script>``, no ``on…=``
attributes, no ``style=``), so the Content-Security-Policy needs no ``'unsafe-inline'``.
A header a view already set wins: downloads keep their own ``sandbox`` policy.
"""

from flask import Flask, Response

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


def add_security_headers(response: Response) -> Response:
    """Set the policy's headers on a response, leaving any the view set itself: one look
    at the headers already there, one extend."""
    policy = ON_PAGES if response.mimetype == "text/html" else ALWAYS
    present = {name.lower() for name in response.headers.keys()}
    response.headers.extend(
        [(name, value) for name, value in policy if name.lower() not in present]
    )
    return response


def register_security_headers(app: Flask) -> None:
    app.after_request(add_security_headers)
