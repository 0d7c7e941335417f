"""Retrieval: BM25-ranked passages through the query API and in chat completions."""

import json

import pytest

from tests.support.accounts import principal_of
from tests.support.fake_upstream import connection_settings
from tests.support.files import make_pdf, upload_ok
from webui.errors import ServiceError
from webui.extensions import db
from webui.models import User
from webui.services import fulltext, retrieval

TARGET = (
    "Photosynthesis happens in the chloroplasts, "
    "where sunlight turns water and carbon dioxide into sugar."
)
DISTRACTORS = [
    "The sunlight in the garden was bright and the water in the pond was warm.",
    "Carbon is the basis of organic chemistry; sugar is one of its compounds.",
    "Chloroplasts are green. Plants grow leaves in spring.",
    "Dioxide appears in many chemical names, like titanium dioxide in paint.",
    "Nothing here about plants at all: a note about bicycles and rain.",
]


@pytest.fixture
def people(people_with_keys):
    return people_with_keys("alice", "bob", USER_PERMISSIONS_WORKSPACE_KNOWLEDGE=True)


@pytest.fixture
def library(client, people, save_settings):
    """Alice's files: the target passage among distractors, one passage per chunk."""
    save_settings(CHUNK_SIZE=120, CHUNK_OVERLAP=0)
    key = people["alice_key"]
    notes = upload_ok(client, "notes.txt", "\n\n".join(DISTRACTORS[:3]).encode(), key)["id"]
    paper = upload_ok(client, "biology.pdf", make_pdf(TARGET), key)["id"]
    misc = upload_ok(client, "misc.md", "\n\n".join(DISTRACTORS[3:]).encode(), key)["id"]
    kid = client.post("/api/v1/knowledge/create", json={"name": "Science"}, headers=key).get_json()[
        "id"
    ]
    for file_id in (notes, paper, misc):
        client.post(f"/api/v1/knowledge/{kid}/file/add", json={"file_id": file_id}, headers=key)
    return {"notes": notes, "paper": paper, "misc": misc, "knowledge": kid}


def query_collection(client, headers, names, query, **extra):
    response = client.post(
        "/api/v1/retrieval/query/collection",
        json={"collection_names": names, "query": query, **extra},
        headers=headers,
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_right_chunk_ranks_first_among_distractors(client, people, library):
    result = query_collection(
        client,
        people["alice_key"],
        [library["knowledge"]],
        "How does photosynthesis turn sunlight and carbon dioxide into sugar?",
    )
    documents, metadatas, distances = (
        result["documents"][0],
        result["metadatas"][0],
        result["distances"][0],
    )
    assert documents[0] == TARGET
    assert metadatas[0] == {
        "file_id": library["paper"],
        "name": "biology.pdf",
        "source": "biology.pdf",
        "collection_name": library["knowledge"],
        "collection_type": "collection",
        "chunk_index": 0,
    }
    assert len(documents) == len(metadatas) == len(distances) <= 4
    assert distances == sorted(distances, reverse=True) and distances[0] > distances[-1]
    assert "bicycles" not in " ".join(documents)


def test_query_doc_searches_one_file_by_id(client, people, library):
    response = client.post(
        "/api/v1/retrieval/query/doc",
        json={"collection_name": library["notes"], "query": "chloroplasts sunlight"},
        headers=people["alice_key"],
    )
    result = response.get_json()
    assert response.status_code == 200
    assert {meta["file_id"] for meta in result["metadatas"][0]} == {library["notes"]}
    assert result["metadatas"][0][0]["collection_type"] == "file"
    assert TARGET not in result["documents"][0]


def test_several_collections_merge_best_first(client, people, library):
    result = query_collection(
        client,
        people["alice_key"],
        [library["misc"], library["paper"]],
        "photosynthesis dioxide",
        k=10,
    )
    names = [meta["name"] for meta in result["metadatas"][0]]
    assert names[0] == "biology.pdf" and "misc.md" in names and "notes.txt" not in names


def test_k_defaults_to_4_and_is_capped_at_50(app, client, people, save_settings):
    save_settings(CHUNK_SIZE=100, CHUNK_OVERLAP=0)
    text = " ".join(f"Entry {i} mentions the lighthouse keeper." for i in range(120))
    file_id = upload_ok(client, "log.txt", text.encode(), people["alice_key"])["id"]
    body = {"collection_name": file_id, "query": "lighthouse"}
    default = client.post("/api/v1/retrieval/query/doc", json=body, headers=people["alice_key"])
    assert len(default.get_json()["documents"][0]) == 4
    capped = client.post(
        "/api/v1/retrieval/query/doc", json={**body, "k": 500}, headers=people["alice_key"]
    )
    assert len(capped.get_json()["documents"][0]) == 50


@pytest.mark.parametrize(
    "body, words",
    [
        ({"collection_names": ["X"], "query": "x", "k": 0}, "k must"),
        ({"collection_names": ["X"], "query": "x", "k": "3"}, "k must"),
        ({"collection_names": ["X"], "query": "x", "k": True}, "k must"),
        ({"collection_names": ["X"], "query": ""}, "query"),
        ({"collection_names": ["X"], "query": 5}, "query"),
        ({"collection_names": [], "query": "x"}, "collection_names"),
        ({"collection_names": "X", "query": "x"}, "collection_names"),
        ({"collection_names": [5], "query": "x"}, "collection_name"),
    ],
)
def test_query_validates_its_body(client, people, library, body, words):
    body = json.loads(json.dumps(body).replace('"X"', json.dumps(library["knowledge"])))
    response = client.post(
        "/api/v1/retrieval/query/collection", json=body, headers=people["alice_key"]
    )
    assert response.status_code == 400 and words in response.get_json()["detail"]


@pytest.mark.parametrize(
    "query",
    [
        '"chloroplasts" OR NEAR(a b)',
        "sugar* AND -water",
        "col:umn ^ (",
        "'; DROP TABLE files; --",
        "&|!:*",
        "???",
        "ünïcödé 数据",
    ],
)
def test_query_syntax_in_the_text_is_just_words(client, people, library, query):
    result = query_collection(client, people["alice_key"], [library["knowledge"]], query)
    assert len(result["documents"][0]) == len(result["distances"][0])


def test_deleted_files_leave_the_index(client, people, library):
    client.delete(f"/api/v1/files/{library['paper']}", headers=people["alice_key"])
    result = query_collection(client, people["alice_key"], [library["knowledge"]], "photosynthesis")
    assert result["documents"] == [[]]


def test_other_users_chunks_never_match(client, people, library):
    upload_ok(
        client, "bob.txt", b"Photosynthesis photosynthesis photosynthesis.", people["bob_key"]
    )
    bob_kid = client.post(
        "/api/v1/knowledge/create", json={"name": "Bob"}, headers=people["bob_key"]
    ).get_json()["id"]
    result = query_collection(client, people["bob_key"], [bob_kid], "photosynthesis")
    assert result["documents"] == [[]]


def test_index_ddl_is_available_for_migrations(app):
    for dialect in ("sqlite", "postgresql"):
        statements = fulltext.create_index_sql(dialect)
        assert statements and all("IF NOT EXISTS" in s for s in statements)
        assert fulltext.drop_index_sql(dialect)
    with pytest.raises(ValueError):
        fulltext.create_index_sql("mysql")
    # Running the DDL again on a database that has the index is harmless.
    with app.app_context(), db.engine.begin() as connection:
        for statement in fulltext.create_index_sql(connection.dialect.name):
            connection.exec_driver_sql(statement)


def test_schema_comparisons_can_leave_the_index_out(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_name": fulltext.include_name}
        )
        differences = compare_metadata(context, db.metadata)
    assert [d for d in differences if "file_chunks" in repr(d)] == []


def test_a_missing_sqlite_index_is_rebuilt_from_existing_chunks(app, client, people, library):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("the FTS5 table exists only on SQLite")
        with db.engine.begin() as connection:
            for statement in fulltext.drop_index_sql("sqlite"):
                connection.exec_driver_sql(statement)
        fulltext._ready_engines.discard(db.engine)
    result = query_collection(client, people["alice_key"], [library["knowledge"]], "photosynthesis")
    assert result["documents"][0][0] == TARGET


# --- chat: files → a system message with numbered sources -------------------------------------


def augment(app, user_id, body):
    with app.test_request_context():
        with app.app_context():
            principal = principal_of(db.session.get(User, user_id))
            return retrieval.augment_with_files(principal, body)


def test_augment_with_files_adds_numbered_sources(app, people, library):
    body = {
        "model": "gpt-test",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Tell me about bicycles."},
            {"role": "assistant", "content": "Sure."},
            {
                "role": "user",
                "content": [{"type": "text", "text": "How does photosynthesis make sugar?"}],
            },
        ],
        "files": [{"type": "collection", "id": library["knowledge"]}],
        "stream": False,
    }
    forwarded, sources = augment(app, people["alice"], body)

    assert (
        "files" not in forwarded
        and forwarded["model"] == "gpt-test"
        and forwarded["stream"] is False
    )
    assert "files" in body  # the caller's dict is left alone
    messages = forwarded["messages"]
    assert messages[0] == {"role": "system", "content": "You are terse."}
    assert messages[1]["role"] == "system" and messages[2:] == body["messages"][1:]
    assert "[1] biology.pdf\n" + TARGET in messages[1]["content"]

    [source] = sources
    assert source["source"] == {"id": library["knowledge"], "name": "Science", "type": "collection"}
    assert source["document"][0] == TARGET
    assert source["metadata"][0] == {
        "file_id": library["paper"],
        "name": "biology.pdf",
        "chunk_index": 0,
    }
    assert len(source["document"]) == len(source["metadata"]) <= 4
    for number, text in enumerate(source["document"], start=1):
        assert f"[{number}] " in messages[1]["content"] and text in messages[1]["content"]


def test_augment_numbers_run_across_sources_without_repeats(app, people, library):
    body = {
        "messages": [{"role": "user", "content": "photosynthesis chloroplasts"}],
        "files": [
            {"type": "file", "id": library["paper"]},
            {"type": "collection", "id": library["knowledge"]},
            {"type": "file", "id": library["paper"]},
        ],
    }
    forwarded, sources = augment(app, people["alice"], body)
    assert [s["source"]["type"] for s in sources] == ["file", "collection"]
    assert sources[0]["document"] == [TARGET]
    assert TARGET not in sources[1]["document"]  # already cited as [1]
    context = forwarded["messages"][0]["content"]
    assert forwarded["messages"][0]["role"] == "system"
    assert "[1] biology.pdf" in context and "[2] " in context


def test_augment_without_files_or_matches_changes_nothing(app, people, library):
    plain = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert augment(app, people["alice"], plain) == (plain, [])
    assert augment(app, people["alice"], {**plain, "files": None}) == (plain, [])
    unmatched = {**plain, "files": [{"type": "collection", "id": library["knowledge"]}]}
    assert augment(app, people["alice"], unmatched) == (plain, [])


@pytest.mark.parametrize(
    "files, status",
    [
        ("abc", 400),
        ([{"type": "folder", "id": "x"}], 400),
        ([{"type": "file"}], 400),
        ([{"type": "file", "id": "no-such-file"}], 404),
        ([{"type": "collection", "id": "no-such-collection"}], 404),
        ([{"type": "file", "id": "x"}] * 21, 400),
    ],
)
def test_augment_rejects_bad_or_unknown_files(app, people, files, status):
    with pytest.raises(ServiceError) as raised:
        augment(
            app, people["alice"], {"messages": [{"role": "user", "content": "q"}], "files": files}
        )
    assert raised.value.status == status


def test_augment_refuses_other_users_files_and_collections_as_not_found(app, people, library):
    for item in (
        {"type": "file", "id": library["paper"]},
        {"type": "collection", "id": library["knowledge"]},
    ):
        with pytest.raises(ServiceError) as raised:
            augment(
                app,
                people["bob"],
                {"messages": [{"role": "user", "content": "photosynthesis"}], "files": [item]},
            )
        assert raised.value.status == 404 and "Science" not in raised.value.detail


def test_chat_completion_with_a_collection_answers_with_sources(
    client, people, library, save_settings, openai_up
):
    save_settings(**connection_settings(openai=openai_up))
    body = {
        "model": "gpt-test",
        "messages": [{"role": "user", "content": "How is sugar made by photosynthesis?"}],
        "files": [{"type": "collection", "id": library["knowledge"]}],
    }
    response = client.post("/api/chat/completions", json=body, headers=people["alice_key"])
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["choices"][0]["message"]["content"] == openai_up.reply_text()
    assert answer["sources"][0]["source"]["id"] == library["knowledge"]
    assert answer["sources"][0]["document"][0] == TARGET

    received = openai_up.last("/v1/chat/completions").body
    assert "files" not in received
    assert received["messages"][0]["role"] == "system"
    assert "[1] biology.pdf\n" + TARGET in received["messages"][0]["content"]
    assert received["messages"][-1] == body["messages"][-1]

    # Streaming: the first event carries the sources.
    streamed = client.post(
        "/api/chat/completions", json={**body, "stream": True}, headers=people["alice_key"]
    )
    first = streamed.get_data(as_text=True).split("\n\n")[0]
    assert json.loads(first[len("data: ") :])["sources"][0]["document"][0] == TARGET

    # Someone else's collection is not found, and nothing reaches the upstream.
    calls = len(openai_up.requests)
    denied = client.post("/api/chat/completions", json=body, headers=people["bob_key"])
    assert denied.status_code == 404
    assert [r.path for r in openai_up.requests[calls:]] in ([], ["/v1/models"])
