"""Checking a real answer against what /openapi.json declares for it: the status is declared
for the operation, the media type too, and a JSON body fits the schema."""

from jsonschema import Draft202012Validator

JSON = "application/json"


def published(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def declared_answer(document: dict, path: str, method: str, status: int) -> dict:
    """The answer the document declares for this status of the operation at ``path`` (the
    document's form, e.g. /api/v1/chats/{id}); a shared error answer is looked up."""
    answers = document["paths"][path][method.lower()]["responses"]
    assert str(status) in answers, (method, path, status, sorted(answers))
    answer = answers[str(status)]
    if "$ref" in answer:
        answer = document["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
    return answer


def schema_problems(document: dict, schema: dict, value) -> list[str]:
    validator = Draft202012Validator({**schema, "components": document["components"]})
    return [error.message for error in validator.iter_errors(value)]


def assert_fits(document: dict, path: str, method: str, response):
    """The answer is one the operation declares; returns its JSON (or text)."""
    answer = declared_answer(document, path, method, response.status_code)
    content = answer.get("content")
    if content is None:
        assert not response.get_data(), response.get_data()[:200]
        return None
    assert response.mimetype in content, (response.mimetype, list(content))
    if response.mimetype != JSON:
        return response.get_data(as_text=True)
    body = response.get_json()
    problems = schema_problems(document, content[JSON]["schema"], body)
    assert not problems, (method, path, problems[:3], str(body)[:300])
    return body
