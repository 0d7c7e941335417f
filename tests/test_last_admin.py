"""The last administrator cannot be removed, not even by two admins acting at once."""

import threading

import pytest
import sqlalchemy as sa

from webui.core import audit
from webui.errors import ServiceError
from webui.extensions import db
from webui.models import User
from webui.services import users


def count_admins(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).where(User.role == "admin"))


def at_once(app, monkeypatch, actions):
    """Run each action in its own thread and app context; both pass their own checks before
    either writes (the audit call stands between the check and the write in the old code)."""
    barrier = threading.Barrier(len(actions), timeout=10)
    original = audit.role_changed

    def meet_then_record(user, role):
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass  # the other side was refused without reaching this point
        original(user, role)

    monkeypatch.setattr(audit, "role_changed", meet_then_record)
    outcomes = [None] * len(actions)

    def run(index, action):
        with app.app_context():
            try:
                action()
                outcomes[index] = "done"
            except ServiceError as error:
                outcomes[index] = error.status
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def demote(user_id):
    return lambda: users.change_role(db.session.get(User, user_id), "user")


@pytest.mark.parametrize("rounds", [5])
def test_two_admins_demoting_each_other_leave_one(app, make_user, monkeypatch, rounds):
    first = make_user("first@example.com", role="admin")
    second = make_user("second@example.com", role="admin")
    for _ in range(rounds):
        outcomes = at_once(app, monkeypatch, [demote(first), demote(second)])
        assert count_admins(app) == 1, outcomes
        assert sorted(outcomes, key=str) == [409, "done"]
        with app.app_context():
            db.session.execute(sa.update(User).values(role="admin"))
            db.session.commit()


def test_the_last_admin_can_neither_be_demoted_nor_deleted(app, make_user):
    only = make_user("only@example.com", role="admin")
    with app.app_context():
        with pytest.raises(ServiceError) as refused:
            users.change_role(db.session.get(User, only), "pending")
        assert refused.value.status == 409
        with pytest.raises(ServiceError):
            users.delete_user(db.session.get(User, only))
        assert db.session.get(User, only).role == "admin"


def test_an_admin_is_deleted_while_another_remains(app, make_user):
    make_user("stays@example.com", role="admin")
    goes = make_user("goes@example.com", role="admin")
    with app.app_context():
        users.delete_user(db.session.get(User, goes))
        assert db.session.get(User, goes) is None
    assert count_admins(app) == 1
