"""The password every test account shares, signed-in test clients and Bearer headers."""

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
