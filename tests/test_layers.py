"""The house's layering, read from the source: imports flow one way, the
domain knows no Flask or RQ, each seam has one owner, views build no queries.

These rules are what keeps a new feature a matter of adding code; a change
that breaks one should be a decision, not an accident.
"""
import ast
import os
import re

import pytest

from wizard import ROOT

WIZARD = os.path.join(ROOT, "wizard")

# Plain functions over models: no Flask, no RQ (jobs and views call them).
DOMAIN = ("actions", "availability", "booking", "confirmation", "due", "insights", "invitation",
          "lifecycle", "outbox", "plans", "policy", "purge", "qaclock", "reactivation", "refusals",
          "steps")
WEB_OR_QUEUE = ("flask", "flask_login", "flask_wtf", "flask_htmx", "wtforms", "werkzeug",
                "rq", "redis")


def modules():
    """{dotted name: path} of every module of the wizard package."""
    found = {}
    for folder, _, files in os.walk(WIZARD):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                found[dotted.removesuffix(".__init__")] = path
    return found


def imports_of(dotted, path):
    """The modules `dotted` imports at any level, as absolute dotted names."""
    with open(path) as f:
        tree = ast.parse(f.read())
    package = dotted if path.endswith("__init__.py") else dotted.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


MODULES = modules()
IMPORTS = {name: imports_of(name, path) for name, path in MODULES.items()}


def source(name):
    with open(MODULES[name]) as f:
        return f.read()


@pytest.mark.parametrize("name", DOMAIN)
def test_the_domain_imports_no_flask_or_rq(name):
    dotted = f"wizard.{name}"
    web = {i for i in IMPORTS[dotted] if i.split(".")[0] in WEB_OR_QUEUE}
    blueprints = {i for i in IMPORTS[dotted]
                  if i.startswith(("wizard.auth", "wizard.billing", "wizard.cancel", "wizard.success"))}
    assert not web and not blueprints, f"{dotted} imports {sorted(web | blueprints)}"


def test_wizard_modules_import_each_other_without_cycles():
    graph = {name: {i for i in deps if i in MODULES and i != name and not name.startswith(i + ".")}
             for name, deps in IMPORTS.items()}
    visiting, done = [], set()

    def visit(name):
        if name in done:
            return
        assert name not in visiting, "import cycle: " + " -> ".join(visiting[visiting.index(name):] + [name])
        visiting.append(name)
        for dep in sorted(graph[name]):
            visit(dep)
        visiting.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def test_blueprints_do_not_import_each_other():
    areas = ("auth", "billing", "cancel", "success")
    for area in areas:
        for name in MODULES:
            if name.startswith(f"wizard.{area}"):
                others = {i for i in IMPORTS[name] for other in areas
                          if other != area and i.startswith(f"wizard.{other}")
                          and other != "auth"}  # auth.access is shared by design
                assert not others, f"{name} imports {sorted(others)}"


@pytest.mark.parametrize("name", [n for n in MODULES if n.endswith(".views")])
def test_views_build_no_queries(name):
    code = source(name)
    built = re.findall(r"\.(select|get_or_none|get_by_id|update|delete|where|insert)\(", code)
    assert not built, f"{name} builds queries ({sorted(set(built))}): ask a model or domain function"


def test_one_clock_one_htmx_seam_one_queue():
    for name in MODULES:
        code = source(name)
        if name != "wizard.clock":
            assert "datetime.now(" not in code and "utcnow(" not in code, f"{name} reads the time"
        if name != "wizard.htmx":
            assert not re.search(r"[\"']HX-", code), f"{name} names an HX-* header"
        if name != "wizard.queue":
            assert not {i for i in IMPORTS[name] if i.split(".")[0] == "rq"}, f"{name} imports RQ"
