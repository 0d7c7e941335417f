"""A collection's own page as people use it every day: files uploaded and text added straight
into it, what each upload came to, and the scores of its query results."""

import io
import math

import pytest

from tests.support.accounts import login_client
from tests.support.files import file_rows, stored_names, upload_ok


@pytest.fixture
def people(people_with_keys):
    return people_with_keys("alice", "bob", USER_PERMISSIONS_WORKSPACE_KNOWLEDGE=True)


@pytest.fixture
def alice(app, people):
    return login_client(app, "alice@example.com")


@pytest.fixture
def collection(client, people) -> str:
    created = client.post(
        "/api/v1/knowledge/create", json={"name": "Handbook"}, headers=people["alice_key"]
    )
    assert created.status_code == 200, created.get_json()
    return created.get_json()["id"]


def files_in(client, people, kid) -> list[str]:
    shown = client.get(f"/api/v1/knowledge/{kid}", headers=people["alice_key"]).get_json()
    return sorted(file["filename"] for file in shown["files"])


def flash_texts(page) -> str:
    return page.get_data(as_text=True)


def post_files(browser, kid, *named: tuple[str, bytes], **headers):
    return browser.post(
        f"/workspace/knowledge/{kid}/files/upload",
        data={"file": [(io.BytesIO(data), name) for name, data in named]},
        content_type="multipart/form-data",
        headers=headers,
    )


# --- 1. uploads straight into a collection ------------------------------------------------


def test_the_collection_page_offers_its_own_upload(alice, collection):
    page = alice.get(f"/workspace/knowledge/{collection}").get_data(as_text=True)
    action = f'action="/workspace/knowledge/{collection}/files/upload"'
    assert action in page and 'enctype="multipart/form-data"' in page
    assert "multiple" in page and "data-drop-zone" in page and "upload.js" in page


def test_several_files_without_javascript_land_back_with_a_flash_each(
    app, client, people, alice, collection
):
    answer = post_files(
        alice,
        collection,
        ("rules.txt", b"Holidays: 25 days a year."),
        ("notes.md", b"# Notes\n\nLunch is at noon."),
        ("photo.bin", b"\x00\x01\x02 not text"),
    )
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"/workspace/knowledge/{collection}")
    page = alice.get(answer.headers["Location"]).get_data(as_text=True)
    assert "rules.txt stored, indexed and added." in page
    assert "notes.md stored, indexed and added." in page
    assert (
        "photo.bin was not added: the file could not be indexed, so it was not kept: "
        "files of type application/octet-stream cannot be searched" in page
    )
    assert files_in(client, people, collection) == ["notes.md", "rules.txt"]
    # The file that could not be indexed is gone entirely: no row, no bytes, no link.
    assert len(file_rows(app)) == 2
    assert len([name for name in stored_names(app) if not name.startswith(".")]) == 2


def test_one_file_at_a_time_answers_json_for_the_script(client, people, alice, collection):
    good = post_files(alice, collection, ("rules.txt", b"Holidays."), Accept="application/json")
    assert good.status_code == 200
    assert good.get_json()["filename"] == "rules.txt"
    assert good.get_json()["data"] == {"status": "completed"}
    bad = post_files(alice, collection, ("empty.txt", b""), Accept="application/json")
    assert bad.status_code == 400 and "empty" in bad.get_json()["detail"]
    assert files_in(client, people, collection) == ["rules.txt"]


def test_only_who_may_change_the_collection_uploads_into_it(app, people, collection):
    bob = login_client(app, "bob@example.com")
    answer = post_files(bob, collection, ("x.txt", b"text"))
    assert answer.status_code == 404  # not shared with bob: it does not exist for him
    assert file_rows(app) == []


def test_an_existing_indexed_file_can_still_be_added(client, people, alice, collection):
    file_id = upload_ok(client, "old.txt", b"Older text.", people["alice_key"])["id"]
    alice.post(f"/workspace/knowledge/{collection}/files/add", data={"file_id": file_id})
    assert files_in(client, people, collection) == ["old.txt"]


# --- 2. text typed into a collection -----------------------------------------------------


def test_text_is_kept_as_a_markdown_file_and_indexed_into_the_collection(
    client, people, alice, collection
):
    added = alice.post(
        f"/workspace/knowledge/{collection}/text",
        data={"title": "Parking", "kind": "md", "content": "# Parking\n\nBehind the building."},
        follow_redirects=True,
    )
    assert added.status_code == 200
    assert "Parking.md stored, indexed and added." in added.get_data(as_text=True)
    assert files_in(client, people, collection) == ["Parking.md"]
    found = client.post(
        "/api/v1/retrieval/query/collection",
        json={"collection_names": [collection], "query": "where is parking"},
        headers=people["alice_key"],
    ).get_json()
    assert found["documents"][0] == ["# Parking\n\nBehind the building."]


def test_plain_text_is_kept_as_a_txt_file(client, people, alice, collection):
    alice.post(
        f"/workspace/knowledge/{collection}/text",
        data={"title": "Lunch", "kind": "txt", "content": "Lunch is at noon."},
    )
    assert files_in(client, people, collection) == ["Lunch.txt"]


@pytest.mark.parametrize(
    ("title", "content", "message"),
    [
        ("Empty", "   \n ", "Write or paste the text to add."),
        ("", "Some text", "Give the text a title"),
        ("Long", "x" * 100_001, "The text must be at most 100,000 characters."),
    ],
)
def test_empty_or_too_long_text_is_refused_and_the_form_kept(
    app, alice, collection, title, content, message
):
    answer = alice.post(
        f"/workspace/knowledge/{collection}/text",
        data={"title": title, "kind": "md", "content": content},
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "The text was not added" in page and message in page
    assert f'value="{title}"' in page if title else 'name="title"' in page
    if content.strip():
        assert content[:50] in page  # what was typed is still there to fix
    assert file_rows(app) == []


# --- 3. files of the same name told apart ----------------------------------------------------


def test_same_named_files_show_their_size_and_upload_time(client, people, alice, collection):
    post_files(alice, collection, ("rules.txt", b"Holidays: 25 days a year."))
    post_files(alice, collection, ("rules.txt", b"Holidays: 30 days a year, from 2027 on."))
    page = alice.get(f"/workspace/knowledge/{collection}").get_data(as_text=True)
    table = page[page.index('<section class="card" id="file-list">') :]
    table = table[: table.index("</table>")]
    assert "<th>Size</th><th>Uploaded</th>" in table
    assert table.count('<td data-label="Size">25 Bytes</td>') == 1
    assert table.count('<td data-label="Size">39 Bytes</td>') == 1
    assert table.count('<td data-label="Uploaded"><time datetime=') == 2


def test_the_files_page_labels_size_and_upload_time_on_narrow_screens(people, alice, client):
    upload_ok(client, "rules.txt", b"Holidays.", people["alice_key"])
    page = alice.get("/workspace/files").get_data(as_text=True)
    assert '<td data-label="Size">9 Bytes</td>' in page
    assert '<td data-label="Uploaded"><time datetime=' in page


# --- 4. real scores ---------------------------------------------------------------------


def test_query_scores_are_bm25_over_the_collection_not_zeros(client, people, alice, collection):
    """Every chunk holds "holidays", so the engine's own BM25 (over all chunks, its idf
    clamped to 0.000001 for so common a word) scored each hit 0.000."""
    key = people["alice_key"]
    texts = {
        "often.txt": b"Holidays, holidays, holidays: the holidays rules.",
        "once.txt": b"Holidays are planned in spring with the team lead and HR.",
        "short.txt": b"Holidays.",
    }
    for name, text in texts.items():
        file_id = upload_ok(client, name, text, key)["id"]
        alice.post(f"/workspace/knowledge/{collection}/files/add", data={"file_id": file_id})
    result = client.post(
        "/api/v1/retrieval/query/collection",
        json={"collection_names": [collection], "query": "holidays"},
        headers=key,
    ).get_json()
    names = [meta["name"] for meta in result["metadatas"][0]]
    distances = result["distances"][0]
    assert names == ["often.txt", "short.txt", "once.txt"]
    # BM25 with idf ln(1 + (3 - 3 + 0.5) / (3 + 0.5)), k1 = 1.2, b = 0.75, lengths in characters.
    idf = math.log(1 + 0.5 / 3.5)
    lengths = {name: len(text) for name, text in texts.items()}
    average = sum(lengths.values()) / 3
    expected = [
        round(idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * lengths[name] / average)), 6)
        for name, tf in (("often.txt", 4), ("short.txt", 1), ("once.txt", 1))
    ]
    assert distances == pytest.approx(expected, abs=1e-5)
    assert all(distance > 0.05 for distance in distances)

    page = alice.get(f"/workspace/knowledge/{collection}?q=holidays").get_data(as_text=True)
    assert f"score {distances[0]:.3f}" in page and "score 0.000" not in page
