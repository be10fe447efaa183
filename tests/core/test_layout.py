"""The arrows between packages point one way: api -> services/<domain> -> services/core.

Read from the source with `ast`, so a forbidden import fails here even if nothing executes it.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICES = REPO / "services"
DOMAINS = sorted(p.name for p in SERVICES.iterdir() if p.is_dir() and (p / "__init__.py").exists())
FORBIDDEN_IN_SERVICES = ("api", "flask", "flask_smorest", "werkzeug")


def imported_modules(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) for every import in a file; `import x` has no names."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
    return found


def layout_violations(services_root: Path) -> list[str]:
    problems = []
    exports = {
        domain: getattr(importlib.import_module(f"services.{domain}"), "EXPORTS", {})
        for domain in DOMAINS
    }
    for path in sorted(services_root.rglob("*.py")):
        relative = path.relative_to(services_root)
        own = relative.parts[0] if len(relative.parts) > 1 else None
        for line, module, names in imported_modules(path):
            where = f"services/{relative}:{line}"
            top = module.split(".")[0]
            if top in FORBIDDEN_IN_SERVICES:
                problems.append(f"{where} imports {module}: services never import api/ or Flask")
                continue
            parts = module.split(".")
            if top != "services" or len(parts) < 2:
                continue
            target = parts[1]
            if target in ("core", own):
                continue
            if own == "core":
                problems.append(f"{where} imports {module}: services/core imports no domain")
                continue
            public = exports.get(target, {})
            if len(parts) == 2:  # from services.<domain> import <module>
                hidden = [name for name in names if name not in public]
            else:
                allowed = public.get(parts[2], ())
                hidden = [] if "*" in allowed else [n for n in names if n not in allowed]
                if not names:
                    hidden = [parts[2]] if parts[2] not in public else []
            if hidden:
                problems.append(
                    f"{where} imports {', '.join(hidden)} from {module}, which services/{target} "
                    "does not export (add it to EXPORTS in its __init__.py if it is meant to be)"
                )
    return problems


def test_services_follow_the_one_way_arrows():
    assert layout_violations(SERVICES) == []


def test_services_top_level_holds_only_domain_packages():
    loose = [p.name for p in SERVICES.glob("*.py") if p.name != "__init__.py"]
    assert loose == []
    for domain in DOMAINS:
        doc = importlib.import_module(f"services.{domain}").__doc__
        assert doc and len(doc.split()) > 15, f"services/{domain}/__init__.py needs its docstring"


@pytest.mark.parametrize(
    ("file", "line", "why"),
    [
        ("core/clock.py", "from services.events import events", "core imports no domain"),
        ("stats/charts.py", "from flask import current_app", "services never import api/ or Flask"),
        ("events/badges.py", "from api.errors import register_error_handlers", "never import api/"),
        ("stats/stats.py", "from services.messaging.throttle import ThrottlePolicy", "hidden"),
    ],
)
def test_a_forbidden_import_is_caught(tmp_path, file, line, why):
    """The check itself can fail: a copy of services/ with one bad import added is refused."""
    copy = tmp_path / "services"
    for source in SERVICES.rglob("*.py"):
        target = copy / source.relative_to(SERVICES)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text())
    bad = copy / file
    bad.write_text(bad.read_text() + f"\n{line}\n")
    problems = layout_violations(copy)
    assert len(problems) == 1 and problems[0].startswith(f"services/{file}:"), (why, problems)
