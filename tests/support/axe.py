"""axe-core, vendored under tests/support/vendor/axe-core, run in a Playwright page: the
violations a person would be held up by (moderate, serious, critical), described for a failure
message."""

from pathlib import Path

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("moderate", "serious", "critical")


def load_axe(context) -> None:
    """Make axe available in every page the context opens (before the page's own scripts)."""
    context.add_init_script(path=str(AXE_JS))


def blocking_violations(page, impacts=BLOCKING) -> list[dict]:
    """The page's axe violations at the given impacts, each as {id, impact, help, targets}."""
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "targets": [", ".join(node["target"]) for node in violation["nodes"]],
        }
        for violation in results["violations"]
        if violation["impact"] in impacts
    ]


def describe(violations: list[dict]) -> str:
    """One line per violation: impact, rule, what it means, where."""
    return "\n".join(
        f"{v['impact']} {v['id']}: {v['help']} at {'; '.join(v['targets'][:5])}" for v in violations
    )
