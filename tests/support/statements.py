"""What a request costs in SQL: the statements one keyed request runs."""

from webui.extensions import db
from webui.sql_trace import traced_statements


def keyed_request_statements(app, headers: dict, path: str = "/api/v1/auths/") -> list[str]:
    """The statements of a GET ``path`` with ``headers``, asked a second time: the first use
    of a key writes its last-used time, which later requests within the minute do not."""
    client = app.test_client()
    assert client.get(path, headers=headers).status_code == 200
    with app.app_context():
        engine = db.engine
    with traced_statements(engine) as statements:
        assert client.get(path, headers=headers).status_code == 200
    return list(statements)
