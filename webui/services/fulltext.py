"""The full-text indexes over file chunks and saved chats, inside the database.

SQLite: an FTS5 table over ``file_chunks`` (external content, kept in step by
triggers) ranked with BM25. PostgreSQL: a GIN index on ``to_tsvector`` ranked
with ``ts_rank_cd``. ``search`` takes the engine's best chunks and scores them
with Okapi BM25 computed the same way on both databases, over the files searched
(see ``bm25_scores``); it returns the best first, higher scores being better.
``create_index_sql`` gives the DDL for migrations; tables made with ``create_all``
get it through the listeners at the bottom.

Saved chats get the same kind of index over ``chats.search_text`` (``create_chat_index_sql``);
``search_chats`` finds a person's chats holding every word of a query (prefixes too, so the
sidebar can search as one types), newest first.
"""

import math
import re
import weakref
from dataclasses import dataclass, replace

import sqlalchemy as sa

from webui.core.parsers import unique
from webui.extensions import db
from webui.models import Chat, FileChunk

MAX_TERMS = 32
CANDIDATES = 100  # the engine's best chunks that BM25 then scores; at least k of them
BM25_K1, BM25_B = 1.2, 0.75  # the usual term-frequency saturation and length weight
MARK = "\x02"  # put before each matched word by highlight(); not a character of real text
MAX_TERM_LENGTH = 64
FTS_TABLE = "file_chunks_fts"
PG_INDEX = "ix_file_chunks_text_fts"
PG_CONFIG = "english"  # the stemmer; SQLite's porter tokenizer stems English too

SQLITE_DDL = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    "text, content='file_chunks', content_rowid='id', tokenize='porter unicode61')",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_insert AFTER INSERT ON file_chunks BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_delete AFTER DELETE ON file_chunks BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_update AFTER UPDATE ON file_chunks BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text); "
    f"INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text); END",
]
POSTGRESQL_DDL = [
    f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON file_chunks "
    f"USING gin (to_tsvector('{PG_CONFIG}', text))",
]


def create_index_sql(dialect_name: str) -> list[str]:
    """Statements that create the index (idempotent); run them after creating file_chunks."""
    if dialect_name == "sqlite":
        return list(SQLITE_DDL)
    if dialect_name == "postgresql":
        return list(POSTGRESQL_DDL)
    raise ValueError(f"full-text retrieval supports SQLite and PostgreSQL, not {dialect_name}")


def drop_index_sql(dialect_name: str) -> list[str]:
    """Statements that remove the index (the SQLite triggers go with file_chunks)."""
    if dialect_name == "sqlite":
        return [f"DROP TABLE IF EXISTS {FTS_TABLE}"]
    if dialect_name == "postgresql":
        return [f"DROP INDEX IF EXISTS {PG_INDEX}"]
    raise ValueError(f"full-text retrieval supports SQLite and PostgreSQL, not {dialect_name}")


def include_name(name: str | None, type_: str, _parent_names: dict) -> bool:
    """Alembic's ``include_name`` hook: the indexes are made by ``create_index_sql`` and
    ``create_chat_index_sql``, not by the models, so autogenerate and schema comparisons
    must leave them alone."""
    if type_ == "table":
        return not (name or "").startswith((FTS_TABLE, CHAT_FTS_TABLE))
    if type_ == "index":
        return name not in (PG_INDEX, CHAT_PG_INDEX)
    return True


_ready_engines: "weakref.WeakSet[sa.Engine]" = weakref.WeakSet()


def ensure_index() -> None:
    """Create the index once per process if a database lacks it, indexing existing chunks."""
    engine = db.engine
    if engine in _ready_engines:
        return
    with engine.begin() as connection:
        dialect = connection.dialect.name
        missing = (
            dialect == "sqlite"
            and not connection.execute(
                sa.text("SELECT 1 FROM sqlite_master WHERE name = :name"), {"name": FTS_TABLE}
            ).first()
        )
        for statement in create_index_sql(dialect):
            connection.exec_driver_sql(statement)
        if missing:
            connection.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
    _ready_engines.add(engine)


# --- searching -------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    file_id: str
    chunk_index: int
    text: str
    score: float  # higher is better


# Words too common to say what a question is about. PostgreSQL drops them itself;
# FTS5 does not, and in a short chunk "is" or "the" could outrank the real subject.
STOP_WORDS = frozenset(
    "a about an and any are as at be been but by can could did do does for from had has have "
    "how i if in into is it its me my no not of on or our should so than that the their them "
    "then there these they this those to was we were what when where which who whom why will "
    "with would you your".split()
)


def query_terms(query: str) -> list[str]:
    """The words of a question, each searched for on its own (any of them may match).

    Only letters and digits survive, so no term can carry the operators of
    FTS5's or PostgreSQL's query syntax. Stop words are dropped unless nothing
    else is left.
    """
    words = unique(word[:MAX_TERM_LENGTH] for word in re.findall(r"[^\W_]+", query.lower()))
    meaningful = [word for word in words if word not in STOP_WORDS]
    return (meaningful or words)[:MAX_TERMS]


def _search_sqlite(file_ids: list[str], terms: list[str], k: int) -> list[Hit]:
    statement = sa.text(
        f"SELECT c.id, c.file_id, c.chunk_index, c.text, -bm25({FTS_TABLE}) AS score "
        f"FROM {FTS_TABLE} JOIN file_chunks AS c ON c.id = {FTS_TABLE}.rowid "
        f"WHERE {FTS_TABLE} MATCH :match AND c.file_id IN :file_ids "
        f"ORDER BY bm25({FTS_TABLE}), c.id LIMIT :k"
    ).bindparams(sa.bindparam("file_ids", expanding=True))
    match = " OR ".join(f'"{term}"' for term in terms)
    rows = db.session.execute(statement, {"match": match, "file_ids": file_ids, "k": k})
    return [Hit(*row) for row in rows]


def _search_postgresql(file_ids: list[str], terms: list[str], k: int) -> list[Hit]:
    # Normalization 1 divides by 1 + log(length) so long chunks do not win by size alone.
    statement = sa.text(
        "SELECT c.id, c.file_id, c.chunk_index, c.text, "
        f"ts_rank_cd(to_tsvector('{PG_CONFIG}', c.text), q, 1) AS score "
        f"FROM file_chunks AS c, to_tsquery('{PG_CONFIG}', :tsquery) AS q "
        f"WHERE c.file_id IN :file_ids AND to_tsvector('{PG_CONFIG}', c.text) @@ q "
        "ORDER BY score DESC, c.id LIMIT :k"
    ).bindparams(sa.bindparam("file_ids", expanding=True))
    rows = db.session.execute(
        statement, {"tsquery": " | ".join(terms), "file_ids": file_ids, "k": k}
    )
    return [Hit(row[0], row[1], row[2], row[3], float(row[4])) for row in rows]


SEARCHERS = {"sqlite": _search_sqlite, "postgresql": _search_postgresql}


# --- BM25 over the files searched --------------------------------------------------------
# The engines' own scores are no use to people: FTS5 takes its statistics from every chunk of
# every user and gives a term found in over half of them a weight of 0.000001, so small
# collections scored "0.000"; ts_rank_cd is on another scale altogether. So the engine only
# finds the candidates (its stemming decides what matches a word) and BM25 scores them from
# counts both databases give alike: chunks searched, chunks holding each word, how often
# each candidate holds it, and lengths in characters.


def _term_sqlite(term: str, file_ids: list[str], candidate_ids: list[int]):
    """Chunks of these files that hold the word, and the candidates' text with it marked."""
    matched = (
        f"FROM {FTS_TABLE} JOIN file_chunks AS c ON c.id = {FTS_TABLE}.rowid "
        f"WHERE {FTS_TABLE} MATCH :match "
    )
    count = sa.text(f"SELECT count(*) {matched} AND c.file_id IN :ids").bindparams(
        sa.bindparam("ids", expanding=True)
    )
    marked = sa.text(
        f"SELECT c.id, highlight({FTS_TABLE}, 0, :mark, '') {matched} AND c.id IN :ids"
    ).bindparams(sa.bindparam("ids", expanding=True))
    match = f'"{term}"'
    holding = db.session.scalar(count, {"match": match, "ids": file_ids})
    rows = db.session.execute(marked, {"match": match, "mark": MARK, "ids": candidate_ids})
    return holding, rows


def _term_postgresql(term: str, file_ids: list[str], candidate_ids: list[int]):
    """Chunks of these files that hold the word, and the candidates' text with it marked."""
    vector = f"to_tsvector('{PG_CONFIG}', c.text)"
    count = sa.text(
        f"SELECT count(*) FROM file_chunks AS c, to_tsquery('{PG_CONFIG}', :term) AS q "
        f"WHERE c.file_id IN :ids AND {vector} @@ q"
    ).bindparams(sa.bindparam("ids", expanding=True))
    marked = sa.text(
        f"SELECT c.id, ts_headline('{PG_CONFIG}', c.text, q, :options) "
        f"FROM file_chunks AS c, to_tsquery('{PG_CONFIG}', :term) AS q "
        f"WHERE c.id IN :ids AND {vector} @@ q"
    ).bindparams(sa.bindparam("ids", expanding=True))
    options = f'StartSel={MARK}, StopSel="", HighlightAll=true'
    holding = db.session.scalar(count, {"term": term, "ids": file_ids})
    rows = db.session.execute(marked, {"term": term, "options": options, "ids": candidate_ids})
    return holding, rows


TERM_COUNTERS = {"sqlite": _term_sqlite, "postgresql": _term_postgresql}


def bm25_scores(file_ids: list[str], terms: list[str], hits: list[Hit]) -> dict[int, float]:
    """Okapi BM25 of each hit (by chunk id) among the chunks of these files, with the
    always-positive idf ln(1 + (N - n + 0.5) / (n + 0.5))."""
    chunks, average_length = db.session.execute(
        sa.select(sa.func.count(FileChunk.id), sa.func.avg(sa.func.length(FileChunk.text))).where(
            FileChunk.file_id.in_(file_ids)
        )
    ).one()
    average_length = float(average_length or 1) or 1.0
    lengths = {hit.chunk_id: len(hit.text) for hit in hits}
    scores = dict.fromkeys(lengths, 0.0)
    count_term = TERM_COUNTERS[db.engine.dialect.name]
    for term in terms:
        holding, rows = count_term(term, file_ids, list(lengths))
        if not holding:
            continue
        idf = math.log(1 + (chunks - holding + 0.5) / (holding + 0.5))
        for chunk_id, marked in rows:
            frequency = marked.count(MARK)
            norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths[chunk_id] / average_length)
            scores[chunk_id] += idf * frequency * (BM25_K1 + 1) / (frequency + norm)
    return scores


def search(file_ids: list[str], query: str, k: int) -> list[Hit]:
    """The k chunks of these files that best match the query, best first, scored by BM25."""
    terms = query_terms(query)
    if not terms or not file_ids or k < 1:
        return []
    ensure_index()
    file_ids = list(file_ids)
    candidates = SEARCHERS[db.engine.dialect.name](file_ids, terms, max(k, CANDIDATES))
    scores = bm25_scores(file_ids, terms, candidates)
    scored = [replace(hit, score=round(scores[hit.chunk_id], 6)) for hit in candidates]
    return sorted(scored, key=lambda hit: (-hit.score, hit.chunk_id))[:k]


# --- saved chats ----------------------------------------------------------------------------

CHAT_FTS_TABLE = "chats_fts"
CHAT_PG_INDEX = "ix_chats_search_text_fts"

# Chat ids are strings, and FTS5 external content needs a stable integer rowid, so the
# SQLite index keeps its own copy of the text beside the chat id.
CHAT_SQLITE_DDL = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {CHAT_FTS_TABLE} USING fts5("
    "chat_id UNINDEXED, text, tokenize='porter unicode61')",
    f"CREATE TRIGGER IF NOT EXISTS {CHAT_FTS_TABLE}_insert AFTER INSERT ON chats BEGIN "
    f"INSERT INTO {CHAT_FTS_TABLE}(chat_id, text) VALUES (new.id, new.search_text); END",
    f"CREATE TRIGGER IF NOT EXISTS {CHAT_FTS_TABLE}_delete AFTER DELETE ON chats BEGIN "
    f"DELETE FROM {CHAT_FTS_TABLE} WHERE chat_id = old.id; END",
    f"CREATE TRIGGER IF NOT EXISTS {CHAT_FTS_TABLE}_update AFTER UPDATE OF search_text ON chats "
    f"BEGIN DELETE FROM {CHAT_FTS_TABLE} WHERE chat_id = old.id; "
    f"INSERT INTO {CHAT_FTS_TABLE}(chat_id, text) VALUES (new.id, new.search_text); END",
]
CHAT_POSTGRESQL_DDL = [
    f"CREATE INDEX IF NOT EXISTS {CHAT_PG_INDEX} ON chats "
    f"USING gin (to_tsvector('{PG_CONFIG}', search_text))",
]


def create_chat_index_sql(dialect_name: str) -> list[str]:
    """Statements that create the chats' index (idempotent); run them after creating chats."""
    return list(_by_dialect(dialect_name, CHAT_SQLITE_DDL, CHAT_POSTGRESQL_DDL))


def drop_chat_index_sql(dialect_name: str) -> list[str]:
    """Statements that remove the chats' index (the SQLite triggers go with chats)."""
    return _by_dialect(
        dialect_name,
        [f"DROP TABLE IF EXISTS {CHAT_FTS_TABLE}"],
        [f"DROP INDEX IF EXISTS {CHAT_PG_INDEX}"],
    )


def _by_dialect(dialect_name: str, sqlite: list[str], postgresql: list[str]) -> list[str]:
    if dialect_name == "sqlite":
        return sqlite
    if dialect_name == "postgresql":
        return postgresql
    raise ValueError(f"full-text search supports SQLite and PostgreSQL, not {dialect_name}")


def _chats_sqlite(user_id: str, terms: list[str]) -> sa.Select:
    # Each word whole (stemmed) or as the start of a longer word.
    match = " AND ".join(f'("{term}" OR "{term}"*)' for term in terms)
    matching = sa.text(f"SELECT chat_id FROM {CHAT_FTS_TABLE} WHERE {CHAT_FTS_TABLE} MATCH :m")
    return sa.select(Chat).where(
        Chat.user_id == user_id,
        Chat.id.in_(matching.bindparams(m=match).columns(chat_id=sa.String)),
    )


def _chats_postgresql(user_id: str, terms: list[str]) -> sa.Select:
    query = sa.func.to_tsquery(PG_CONFIG, " & ".join(f"({term} | {term}:*)" for term in terms))
    vector = sa.func.to_tsvector(PG_CONFIG, Chat.search_text)
    return sa.select(Chat).where(Chat.user_id == user_id, vector.bool_op("@@")(query))


CHAT_SEARCHERS = {"sqlite": _chats_sqlite, "postgresql": _chats_postgresql}


def search_chats(user_id: str, query: str, limit: int, offset: int) -> list[Chat]:
    """This person's chats (not archived) whose title or messages hold every word of the query,
    newest first."""
    terms = query_terms(query)
    if not terms:
        return []
    statement = CHAT_SEARCHERS[db.engine.dialect.name](user_id, terms)
    statement = statement.where(Chat.archived.is_(False))  # as Open WebUI's search
    ordered = statement.order_by(Chat.touched_ns.desc()).limit(limit).offset(offset)
    return list(db.session.scalars(ordered))


# --- tables made by create_all (tests, first start) get the index too -------------------


def index_follows_table(table: sa.Table, create_sql, drop_sql) -> None:
    """Create the table's search index right after the table, and drop it just before."""

    def run(statements):
        def listener(_table, connection, **_kw) -> None:
            for statement in statements(connection.dialect.name):
                connection.exec_driver_sql(statement)

        return listener

    sa.event.listen(table, "after_create", run(create_sql))
    sa.event.listen(table, "before_drop", run(drop_sql))


index_follows_table(FileChunk.__table__, create_index_sql, drop_index_sql)
index_follows_table(Chat.__table__, create_chat_index_sql, drop_chat_index_sql)
