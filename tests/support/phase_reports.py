"""A pytest plugin: each test phase's report is kept on the test item, so a fixture's
teardown can see that its test failed (and, say, save screenshots).
conftest.py loads it with ``pytest_plugins``."""

import pytest


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report
