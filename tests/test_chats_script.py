"""A script written against Open WebUI's chats API, run unchanged against a live server:
``requests`` with a Bearer key, the way Open WebUI's own examples call it."""

import pytest
import requests

pytestmark = pytest.mark.slow  # a live gunicorn


def test_open_webui_chats_script_runs_unchanged(live_server, people_with_keys):
    people = people_with_keys("alice")
    base_url = live_server.url
    headers = {
        "Authorization": people["alice_key"]["Authorization"],
        "Content-Type": "application/json",
    }
    exported = {
        "title": "Weekly report",
        "models": ["gpt-test"],
        "messages": [
            {
                "id": "u1",
                "parentId": None,
                "childrenIds": ["a1"],
                "role": "user",
                "content": "Summarise the week",
                "timestamp": 1700000000,
            },
            {
                "id": "a1",
                "parentId": "u1",
                "childrenIds": [],
                "role": "assistant",
                "content": "A calm week.",
                "timestamp": 1700000005,
                "model": "gpt-test",
            },
        ],
    }
    exported["history"] = {
        "messages": {m["id"]: m for m in exported["messages"]},
        "currentId": "a1",
    }

    # Create
    response = requests.post(
        f"{base_url}/api/v1/chats/new", headers=headers, json={"chat": exported}, timeout=30
    )
    response.raise_for_status()
    chat_id = response.json()["id"]

    # List
    response = requests.get(f"{base_url}/api/v1/chats/list", headers=headers, timeout=30)
    response.raise_for_status()
    listed = {item["id"]: item["title"] for item in response.json()}
    assert listed == {chat_id: "Weekly report"}

    # Read
    response = requests.get(f"{base_url}/api/v1/chats/{chat_id}", headers=headers, timeout=30)
    response.raise_for_status()
    chat = response.json()["chat"]
    assert chat == exported

    # Update: add a message, rename
    chat["messages"].append(
        {
            "id": "u2",
            "parentId": "a1",
            "role": "user",
            "content": "And next week?",
            "timestamp": 1700000010,
        }
    )
    chat["title"] = "Weekly report (2)"
    response = requests.post(
        f"{base_url}/api/v1/chats/{chat_id}", headers=headers, json={"chat": chat}, timeout=30
    )
    response.raise_for_status()
    assert response.json()["title"] == "Weekly report (2)"
    assert len(response.json()["chat"]["messages"]) == 3

    # Search finds it by what was said
    response = requests.get(
        f"{base_url}/api/v1/chats/search", headers=headers, params={"text": "calm"}, timeout=30
    )
    response.raise_for_status()
    assert [item["id"] for item in response.json()] == [chat_id]

    # Delete
    response = requests.delete(f"{base_url}/api/v1/chats/{chat_id}", headers=headers, timeout=30)
    response.raise_for_status()
    assert response.json() is True
    gone = requests.get(f"{base_url}/api/v1/chats/{chat_id}", headers=headers, timeout=30)
    assert gone.status_code == 404
    assert "not found" in gone.json()["detail"].lower()
