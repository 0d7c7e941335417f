"""One cap on every request body, read before anything else; uploads have their own."""

import pytest

from tests.support.files import upload_ok

MIB = 1024 * 1024


@pytest.mark.parametrize("path", ["/api/v1/auths/signin", "/api/v1/auths/signup"])
def test_a_body_over_the_cap_is_refused_unread(client, path):
    body = b'{"email": "' + b"a" * (2 * MIB) + b'"}'
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 413
    assert "detail" in response.get_json()


def test_a_signed_in_caller_meets_the_same_cap(client, people_with_keys):
    people = people_with_keys("alice")
    body = b'{"model": "m", "messages": [{"role": "user", "content": "' + b"a" * (2 * MIB) + b'"}]}'
    response = client.post(
        "/api/chat/completions",
        data=body,
        content_type="application/json",
        headers=people["alice_key"],
    )
    assert response.status_code == 413
    assert "detail" in response.get_json()


def test_a_form_over_the_cap_gets_a_page(client):
    response = client.post("/auth/login", data={"email": "x" * (2 * MIB), "password": "p"})
    assert response.status_code == 413
    assert b"<html" in response.data


def test_the_cap_is_configurable(monkeypatch, app_config):
    from webui import create_app

    monkeypatch.setenv("MAX_REQUEST_BODY_BYTES", str(4 * MIB))
    assert create_app(app_config).config["MAX_CONTENT_LENGTH"] == 4 * MIB
    monkeypatch.setenv("MAX_REQUEST_BODY_BYTES", "lots")
    with pytest.raises(ValueError, match="MAX_REQUEST_BODY_BYTES"):
        create_app(app_config)


def test_uploads_keep_their_own_larger_limit(client, people_with_keys):
    people = people_with_keys("alice")
    data = b"word " * (MIB // 2)  # 2.5 MiB of text, over the general cap
    assert len(data) > 2 * MIB
    uploaded = upload_ok(client, "big.txt", data, people["alice_key"])
    assert uploaded["meta"]["size"] == len(data)
