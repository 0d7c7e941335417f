"""flask commands: create-admin and set-role."""

from tests.support.accounts import PASSWORD


def test_create_admin_with_options(runner, app, count_users):
    result = runner.invoke(
        args=["create-admin", "--email", "Ops@Example.com", "--name", "Ops", "--password", PASSWORD]
    )
    assert result.exit_code == 0, result.output
    assert "Created admin ops@example.com" in result.output
    assert count_users() == 1


def test_create_admin_prompts_for_what_is_missing(runner, count_users):
    result = runner.invoke(
        args=["create-admin"], input=f"ops@example.com\nOps\n{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert count_users() == 1


def test_create_admin_refuses_a_short_password(runner, count_users):
    result = runner.invoke(
        args=["create-admin", "--email", "a@x.io", "--name", "A", "--password", "short"]
    )
    assert result.exit_code != 0
    assert "at least 8" in result.output
    assert count_users() == 0


def test_set_role(runner, make_user, app):
    make_user("root@example.com", role="admin")
    make_user("pat@example.com", role="pending")
    result = runner.invoke(args=["set-role", "PAT@example.com", "user"])
    assert result.exit_code == 0, result.output
    assert "pat@example.com is now user" in result.output


def test_set_role_refuses_unknown_roles_users_and_the_last_admin(runner, make_user):
    make_user("root@example.com", role="admin")
    assert "Unknown role" in runner.invoke(args=["set-role", "root@example.com", "owner"]).output
    assert "No account" in runner.invoke(args=["set-role", "who@example.com", "user"]).output
    last = runner.invoke(args=["set-role", "root@example.com", "user"])
    assert last.exit_code != 0 and "last administrator" in last.output
