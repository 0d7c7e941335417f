"""Usage rows written directly, as the proxy records a completion made with a key."""

from webui.extensions import db
from webui.models import Usage


def add_usage(app, user_id, key_id, at, model="gpt-x", tokens=(10, 5, 15), status=200):
    """One recorded completion at a known time."""
    prompt, completion, total = tokens
    with app.app_context():
        db.session.add(
            Usage(
                user_id=user_id,
                api_key_id=key_id,
                endpoint="/api/chat/completions",
                model=model,
                status=status,
                prompt_tokens=prompt,
                completion_tokens=completion,
                total_tokens=total,
                created_at=at,
            )
        )
        db.session.commit()
