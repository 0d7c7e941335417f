"""Rules the test suite keeps about itself."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def importorskip_calls(path: Path) -> list[int]:
    """Lines of ``path`` that call ``pytest.importorskip`` (or an imported ``importorskip``)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            called = node.func
            name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
            if name == "importorskip":
                lines.append(node.lineno)
    return lines


def test_no_test_skips_on_a_missing_import():
    """importorskip skips even in CI, where WEBUI_REQUIRE_SERVICES=1 must turn a missing
    package (or a broken app module) into a failure: import directly, or use a helper that
    honours the switch (tests/support/chromium.py's require_browser)."""
    found = {
        f"{path.relative_to(TESTS.parent)}:{line}"
        for path in TESTS.rglob("*.py")
        for line in importorskip_calls(path)
    }
    assert not found, f"importorskip in {sorted(found)}"
