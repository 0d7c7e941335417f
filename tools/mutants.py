"""Deliberate faults, one at a time, against the tests that must catch them.

Each fault below is a small edit of the security core (or of the suite's own rules) and
names the tests that are there to notice it. The script copies this checkout to a temporary
folder, checks that those tests pass there unchanged, then for each fault applies its edits,
runs the tests, and puts the files back. A fault the tests let through is a gap in the suite.
A few entries are disturbances the tests must withstand instead (a machine so slow that every
request takes a minute): for those, passing is the expected result.

    .venv/bin/python tools/mutants.py                 # every fault
    .venv/bin/python tools/mutants.py --list          # names and what each one breaks
    .venv/bin/python tools/mutants.py NAME [NAME …]   # only these

This checkout is never modified. TEST_DATABASE_URL and REDIS_URL are passed on as they are.
Exit status: 0 when every fault met its expectation, 1 otherwise.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOT_COPIED = (".git", ".venv", "instance", "test-artifacts", "__pycache__", ".pytest_cache")
PYTEST = (sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:randomly", "-p", "no:cacheprovider")


@dataclass(frozen=True)
class Edit:
    """Replace ``old``, which must occur exactly once in ``path``, with ``new``."""

    path: str
    old: str
    new: str


@dataclass(frozen=True)
class Fault:
    name: str
    what: str
    edits: tuple[Edit, ...]
    tests: tuple[str, ...]  # pytest arguments: node ids, files, options
    caught: bool = True  # False: a disturbance the tests must pass under


GUARD = "webui/security/guard.py"
READ_ONLY_TESTS = (
    "tests/test_guard.py::test_a_read_only_key_cannot_write_where_keys_may",
    "tests/test_guard.py::test_a_read_only_key_cannot_delete",
)
RATE_LIMIT_TESTS = (
    "tests/test_ratelimit.py",
    "tests/test_shared_limits.py",
    "tests/test_audit.py::test_a_flood_of_different_bad_keys_collapses_once_over_the_limit",
    "-m",
    "not slow",
)
# The counters' clock moves a minute and a second on every reading: each request of a loop
# falls in a new rate-limit window unless the test holds the clock still.
A_MINUTE_PER_REQUEST = (
    Edit(
        "webui/core/counters.py",
        "_cleanup_lock = threading.Lock()\n",
        "_cleanup_lock = threading.Lock()\n_minutes = __import__('itertools').count()\n",
    ),
    Edit(
        "webui/core/counters.py",
        "    return time.time()\n",
        "    return time.time() + 61 * next(_minutes)\n",
    ),
)

FAULTS = [
    Fault(
        "read-only-only-under-auths",
        "read-only keys are refused writes only under /api/v1/auths",
        (
            Edit(
                GUARD,
                "if api_key.read_only and request.method not in READ_METHODS:",
                'if api_key.read_only and request.path.startswith("/api/v1/auths") '
                "and request.method not in READ_METHODS:",
            ),
        ),
        READ_ONLY_TESTS,
    ),
    Fault(
        "post-is-a-read-method",
        "POST counts as a read method",
        (Edit(GUARD, '{"GET", "HEAD", "OPTIONS"}', '{"GET", "HEAD", "OPTIONS", "POST"}'),),
        READ_ONLY_TESTS,
    ),
    Fault(
        "pending-owners-keys-pass-the-key-check",
        "the key check lets keys of pending owners through (a later check still refuses them)",
        (
            Edit(
                GUARD,
                '    if principal.is_pending:\n        return forbidden("The owner',
                '    if False:\n        return forbidden("The owner',
            ),
        ),
        ("tests/test_guard.py::test_owner_demoted_to_pending_or_deleted",),
    ),
    Fault(
        "session-cookie-on-key-requests",
        "a request with a Bearer key saves the session (and sends its cookie)",
        (
            Edit(
                GUARD,
                "    def save_session(self, app, session, response):\n"
                "        if _has_bearer(request):\n            return None\n",
                "    def save_session(self, app, session, response):\n",
            ),
        ),
        ("tests/test_guard.py::test_a_sign_in_carrying_a_key_sets_no_cookie",),
    ),
    Fault(
        "settings-save-keeps-the-version",
        "saving settings does not move the version token other workers cache under",
        (
            Edit(
                "webui/core/settings.py",
                "    bump_version()\n    return changed\n",
                "    return changed\n",
            ),
        ),
        (
            "tests/test_settings.py::"
            "test_a_worker_that_cached_the_settings_sees_a_change_on_its_next_request",
        ),
    ),
    Fault(
        "second-worker-refuses-keys",
        "the second gunicorn worker refuses every key",
        (
            Edit(
                "gunicorn.conf.py",
                "control_socket_disable = True\n",
                "control_socket_disable = True\n\n\ndef post_fork(server, worker):\n"
                '    os.environ["WEBUI_FAULT_WORKER"] = str(worker.age)\n',
            ),
            Edit(
                GUARD,
                "    if not token or not key_format.is_well_formed(token):\n",
                '    if __import__("os").environ.get("WEBUI_FAULT_WORKER") == "2":\n'
                "        return unauthorized()\n"
                "    if not token or not key_format.is_well_formed(token):\n",
            ),
        ),
        ("tests/test_live_smoke.py",),
    ),
    Fault(
        "a-skip-on-a-missing-import",
        "a test skips when a module does not import, even in CI",
        (
            Edit(
                "tests/test_governance.py",
                "def test_request_count_comes_from_the_usage_records(app, people):\n",
                "def test_request_count_comes_from_the_usage_records(app, people):\n"
                '    pytest.importorskip("webui.models.usage")\n',
            ),
        ),
        ("tests/test_suite_rules.py",),
    ),
    Fault(
        "a-minute-per-request",
        "every request takes a minute: rate-limit loops must still fall in one window",
        A_MINUTE_PER_REQUEST,
        RATE_LIMIT_TESTS,
        caught=False,
    ),
    Fault(
        "a-minute-per-request-clock-not-held",
        "the same, with the tests' frozen clock taken away (shows the disturbance bites)",
        (
            *A_MINUTE_PER_REQUEST,
            Edit(
                "tests/conftest.py",
                '    monkeypatch.setattr(counters, "clock", clock)\n',
                "",
            ),
        ),
        RATE_LIMIT_TESTS,
    ),
    Fault(
        "key-limits-share-one-counter",
        "every key with a limit of its own counts on one counter shared by all of them",
        (
            Edit(
                "webui/security/ratelimit.py",
                'ids = _identifiers("key", api_key.id)',
                'ids = _identifiers("key", "every limited key")',
            ),
        ),
        ("tests/test_ratelimit.py::test_each_limited_key_has_a_counter_of_its_own",),
    ),
    Fault(
        "key-limits-count-per-owner",
        "keys with a limit of their own count on one counter per owner",
        (
            Edit(
                "webui/security/ratelimit.py",
                'ids = _identifiers("key", api_key.id)',
                'ids = _identifiers("key", api_key.user_id)',
            ),
        ),
        ("tests/test_ratelimit.py::test_each_limited_key_has_a_counter_of_its_own",),
    ),
    Fault(
        "s3-object-key-unchecked",
        "the S3 object key takes a stored name as it comes (../x, a/b, .hidden)",
        (
            Edit(
                "webui/core/storage.py",
                'return f"{prefix}/{checked_name(name)}" if prefix else checked_name(name)',
                'return f"{prefix}/{name}" if prefix else name',
            ),
        ),
        ("tests/test_storage.py::test_an_s3_object_key_never_leaves_its_prefix",),
    ),
    Fault(
        "stored-name-matches-a-prefix",
        "a stored name is checked only at its start, so 'abc\\n' or 'abc/../x' pass",
        (Edit("webui/core/storage.py", "NAME_RE.fullmatch(name)", "NAME_RE.match(name)"),),
        (
            "tests/test_storage.py::test_a_stored_name_never_leaves_the_folder",
            "tests/test_storage.py::test_an_s3_object_key_never_leaves_its_prefix",
        ),
    ),
    Fault(
        "approve-any-role",
        "approving acts on any account, so an approval sent for an admin demotes them to user",
        (
            Edit(
                "webui/services/users.py",
                '    if role == "pending":\n        if _approve_if_still_pending(user):',
                "    if True:\n        if _approve_if_still_pending(user):",
            ),
            Edit(
                "webui/services/users.py",
                '.where(User.id == user.id, User.role == "pending")',
                ".where(User.id == user.id)",
            ),
        ),
        (
            "tests/test_account_hardening.py::"
            "test_approving_an_account_that_is_not_pending_changes_nothing",
        ),
    ),
    Fault(
        "approve-trusts-a-stale-read",
        "approving checks the role it read, not the row it changes: a promotion a moment "
        "before is undone",
        (
            Edit(
                "webui/services/users.py",
                '.where(User.id == user.id, User.role == "pending")',
                ".where(User.id == user.id)",
            ),
        ),
        (
            "tests/test_account_hardening.py::"
            "test_an_approval_read_before_a_promotion_does_not_demote",
        ),
    ),
    Fault(
        "old-secret-outlives-its-grace",
        "a rotated key's old secret keeps working after its grace period ends",
        (
            Edit(
                GUARD,
                "return api_key.old_secret_until is not None and api_key.old_secret_until <= now()",
                "return False",
            ),
        ),
        (
            "tests/test_rotation_grace.py::"
            "test_after_the_grace_period_the_old_secret_is_refused_like_an_unknown_key",
        ),
    ),
    Fault(
        "rotation-without-grace-keeps-the-previous-secret",
        "rotating without a grace period leaves an earlier rotation's old secret working",
        (
            Edit(
                "webui/services/api_keys.py",
                "        api_key.previous_digest = api_key.previous_valid_until = None\n"
                "    secret = key_format.generate_key()",
                "        pass\n    secret = key_format.generate_key()",
            ),
        ),
        ("tests/test_rotation_grace.py::test_a_second_rotation_replaces_the_previous_secret",),
    ),
    Fault(
        "disabled-key-works-without-policy",
        "a key the dormancy policy disabled works again once the policy is switched off",
        (
            Edit(
                "webui/security/dormancy.py",
                "    if api_key.disabled_at is not None:\n",
                "    if api_key.disabled_at is not None and days is not None:\n",
            ),
        ),
        ("tests/test_key_dormancy.py",),
    ),
    Fault(
        "dormancy-counts-from-creation-only",
        "a key's dormancy is counted from its creation, whatever its last use",
        (Edit("webui/models/keys.py", "(last_used_at or created_at) <", "created_at <"),),
        ("tests/test_key_dormancy.py",),
    ),
    Fault(
        "service-keys-need-the-api-keys-permission",
        "a service account's keys are refused unless its groups grant features.api_keys",
        (
            Edit(
                "webui/security/permissions.py",
                "if not principal.is_service and not has_permission(",
                "if not has_permission(",
            ),
        ),
        (
            "tests/test_service_accounts.py::"
            "test_a_minted_key_is_shown_once_and_works_on_open_webui_routes",
        ),
    ),
    Fault(
        "owner-deletion-orphans-service-accounts",
        "deleting an owner passes nothing on (the database then refuses the deletion)",
        (Edit("webui/services/users.py", "    reassign_service_accounts(user, deleted_by)\n", ""),),
        (
            "tests/test_service_accounts.py::test_deleting_the_owner_passes_it_to_the_deleting_admin",
        ),
    ),
    Fault(
        "quota-group-is-the-floor",
        "of a person's groups the least generous quota applies instead of the most generous",
        (
            Edit(
                "webui/security/quotas.py",
                "per_day(quota) > per_day(best[quota.measure])",
                "per_day(quota) < per_day(best[quota.measure])",
            ),
        ),
        ("tests/test_quotas.py::test_the_most_generous_group_is_the_ceiling",),
    ),
    Fault(
        "quota-counts-the-whole-month-for-a-day",
        "a daily quota counts the month's use, so it never resets at midnight",
        (
            Edit(
                "webui/security/quotas.py",
                "    offset = 0 if period == DAY else 2\n",
                "    offset = 2\n",
            ),
        ),
        ("tests/test_quotas.py::test_a_daily_quota_resets_at_midnight_utc",),
    ),
]


def copy_checkout(target: Path) -> None:
    shutil.copytree(REPO, target, ignore=shutil.ignore_patterns(*NOT_COPIED))


def run_tests(copy: Path, tests: tuple[str, ...]) -> tuple[int, str, float]:
    """pytest in ``copy``: its exit status, the tail of its output, the seconds it took."""
    env = {**os.environ, "PYTHONPATH": str(copy)}  # gunicorn's workers import the copy too
    started = time.monotonic()
    done = subprocess.run(
        [*PYTEST, *tests], cwd=copy, env=env, capture_output=True, text=True, check=False
    )
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
    return done.returncode, tail, time.monotonic() - started


def apply(copy: Path, edits: tuple[Edit, ...], originals: dict[Path, str]) -> None:
    """Make the edits, keeping in ``originals`` the text of every file before its first one."""
    for edit in edits:
        path = copy / edit.path
        text = path.read_text()
        originals.setdefault(path, text)
        if text.count(edit.old) != 1:
            raise LookupError(f"{edit.path}: the text to replace is not there exactly once")
        path.write_text(text.replace(edit.old, edit.new))


def restore(originals: dict[Path, str]) -> None:
    for path, text in originals.items():
        path.write_text(text)


def check(copy: Path, fault: Fault) -> bool:
    """Run one fault; print one line; whether it met its expectation."""
    originals: dict[Path, str] = {}
    try:
        apply(copy, fault.edits, originals)
        status, tail, seconds = run_tests(copy, fault.tests)
    except LookupError as error:
        print(f"{fault.name:42} STALE     {error}")
        return False
    finally:
        restore(originals)
    expected = 1 if fault.caught else 0
    results = {(1, 1): "caught", (0, 0): "withstood", (0, 1): "MISSED", (1, 0): "BROKE"}
    result = results.get((status, expected), f"ERROR {status}")  # 2-5: pytest could not run
    print(f"{fault.name:42} {result:9} {seconds:6.1f} s  {fault.what}")
    if status != expected:
        print("    " + tail.replace("\n", "\n    "))
    return status == expected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="faults to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the faults and exit")
    args = parser.parse_args()
    known = {fault.name: fault for fault in FAULTS}
    if args.list:
        for fault in FAULTS:
            print(f"{fault.name:42} {fault.what}\n{'':42} tests: {' '.join(fault.tests)}")
        return 0
    unknown = [name for name in args.names if name not in known]
    if unknown:
        parser.error(f"no fault named {', '.join(unknown)} (see --list)")
    chosen = [known[name] for name in args.names] or FAULTS

    with tempfile.TemporaryDirectory(prefix="webui-mutants-") as folder:
        copy = Path(folder) / "checkout"
        copy_checkout(copy)
        for tests in dict.fromkeys(fault.tests for fault in chosen):
            status, tail, _ = run_tests(copy, tests)
            if status != 0:
                print(f"the tests fail without any fault: {' '.join(tests)}\n{tail}")
                return 1
        print(f"baseline passed; {len(chosen)} faults, one at a time\n")
        results = [check(copy, fault) for fault in chosen]
    print(f"\n{sum(results)} of {len(results)} met their expectation")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
