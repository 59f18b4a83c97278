"""The app as a whole: commands, error pages, rate limits, settings."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from mentorship import create_app
from mentorship.config import UnsafeConfiguration
from mentorship.extensions import db
from mentorship.models import Role, User
from mentorship.services.auth import authenticate
from tests.conftest import Browserless, app_settings
from tests.test_rate_limits import REDIS_SETTINGS


def test_create_user_command_makes_a_staff_account(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "Lead@PLP.example",
            "--name",
            "Program Lead",
            "--password",
            "a long enough secret",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "lead@plp.example"))
        assert (
            user.role == Role.STAFF
            and authenticate("lead@plp.example", "a long enough secret").user
        )
    again = runner.invoke(
        args=[
            "create-user",
            "--email",
            "lead@plp.example",
            "--name",
            "X",
            "--password",
            "a long enough secret",
        ]
    )
    assert again.exit_code != 0 and "already uses this email" in again.output


def test_seed_demo_command_prints_the_demo_sign_ins(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "58 libraries" in result.output and "pilot@demo.test" in result.output


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("MENTORSHIP_ENV", "production")
    with pytest.raises(UnsafeConfiguration):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_cookies_are_secure(monkeypatch):
    monkeypatch.setenv("MENTORSHIP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-production-key-0123456789-abcdefghij")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    # Production needs a shared rate-limit store (this run's own keys in the test Redis).
    config = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", **REDIS_SETTINGS}).config
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["SESSION_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_an_unexpected_error_shows_the_500_page_in_the_layout(app, smtp_server):
    broken = create_app(
        {
            **app_settings(app.config["SQLALCHEMY_DATABASE_URI"], smtp_server.port),
            "PROPAGATE_EXCEPTIONS": False,
        }
    )

    @broken.get("/boom")
    def boom():
        raise RuntimeError("boom")

    response = broken.test_client().get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page and "Skip to main content" in page
    with broken.app_context():
        db.engine.dispose()


def test_sign_in_attempts_are_rate_limited(app, smtp_server):
    limited = create_app(
        {
            **app_settings(app.config["SQLALCHEMY_DATABASE_URI"], smtp_server.port),
            "RATELIMIT_ENABLED": True,
            "LOGIN_RATE_LIMIT": "3 per minute",
        }
    )
    client = Browserless(limited.test_client())
    statuses = [client.login("someone@t.example", "wrong password").status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert "Too many attempts" in client.login("someone@t.example", "x").get_data(as_text=True)
    with limited.app_context():
        db.engine.dispose()


PACKAGE = Path(__file__).resolve().parents[1] / "mentorship"


def _module_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import that runs while the module loads: all but those inside functions
    (class bodies and `if`/`try` blocks run, so they count)."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_graph() -> dict[str, set[str]]:
    """{module: the package's modules it makes Python load first}: its module-level
    imports, and its parent package (always loaded before it)."""
    files = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        files[name] = (path, parts[-1] == "__init__")
    graph = {name: set() for name in files}
    for name, (path, is_package) in files.items():
        if "." in name:
            graph[name].add(name.rpartition(".")[0])
        package = name if is_package else name.rpartition(".")[0]
        for node in _module_level_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*up, *([node.module] if node.module else [])])
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            for target in targets:
                while target:  # `import a.b.c` loads a, a.b and a.b.c
                    if target in graph:
                        graph[name].add(target)
                    target = target.rpartition(".")[0]
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for needed in graph[module]:
            if needed not in index:
                visit(needed)
                low[module] = min(low[module], low[needed])
            elif needed in on_stack:
                low[module] = min(low[module], index[needed])
        if low[module] == index[module]:
            group = set()
            while not group or module not in group:
                group.add(stack.pop())
            on_stack.difference_update(group)
            if len(group) > 1:
                groups.append(group)

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return groups


@pytest.mark.any_database
def test_every_module_imports_on_its_own():
    """No circular import hides behind the order in which the app happens to load modules.

    Only modules that import each other (a cycle of module-level imports) can load or
    fail depending on which comes first. Python enters such a cycle at one of its
    members, with none of them loaded yet, exactly as when that member is imported
    first; modules outside every cycle load the same way whatever the order. So each
    module of a cycle is imported first, into a fresh copy of the package, and then
    every module is imported once.
    """
    graph = import_graph()
    first = sorted(set().union(*import_cycles(graph)))
    assert "mentorship.blueprints.auth.views" in first  # a blueprint and its views: a cycle
    code = """
import importlib, json, sys
first, every = json.loads(sys.argv[1])
for name in first:
    for loaded in [m for m in sys.modules if m == "mentorship" or m.startswith("mentorship.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as error:
        sys.exit(f"{name}, imported first: {error!r}")
for name in every:
    try:
        importlib.import_module(name)
    except Exception as error:
        sys.exit(f"{name}: {error!r}")
print(len(every))
"""
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps([first, sorted(graph)])],
        capture_output=True,
        text=True,
        cwd=PACKAGE.parent,
        timeout=900,  # a hang, not a slow machine
    )
    assert result.returncode == 0, result.stderr[-800:]
    assert int(result.stdout) > 40  # it really went through the package
