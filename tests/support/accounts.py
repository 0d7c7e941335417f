"""The password every test account shares, signed-in test clients, Bearer headers, and the
principal of an account for calling services directly."""

from webui.models import User
from webui.security.principal import Principal, frozen_groups

PASSWORD = "correct horse battery"
ADMIN_EMAIL = "root@example.com"


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def login_client(app, email: str, password: str = PASSWORD):
    """A new test client signed in through the JSON sign-in."""
    client = app.test_client()
    response = client.post("/api/v1/auths/signin", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    return client


def principal_of(user: User) -> Principal:
    """The principal the guard would build for this account (for calling services directly)."""
    return Principal(
        id=user.id,
        name=user.name,
        email=user.email,
        role=user.role,
        groups=frozen_groups((group.id, group.permissions) for group in user.groups),
    )
