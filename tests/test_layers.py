"""The house's layering, read from the source: which package may import which
(ARCHITECTURE.md draws it), no cycles, the domain and the store know no Flask
or RQ, each seam has one owner, views build no queries.

These rules are what keeps a new feature a matter of adding code; a change
that breaks one should be a decision, not an accident.
"""
import ast
import glob
import os
import re
import tokenize

import pytest

from wizard import ROOT

# The shared seams: small modules every layer may use.
SEAMS = {"wizard.clock", "wizard.config", "wizard.files", "wizard.logs", "wizard.refusals"}

# Who may import what, by package: a module of the key (or the key itself)
# may import only modules under the listed prefixes. The list is the
# layering of ARCHITECTURE.md, top to bottom.
MAY_IMPORT = {
    "wizard.store": {"wizard.store", "wizard.clock", "wizard.config", "wizard.files"},
    "wizard.domain": {"wizard.domain", "wizard.store", *SEAMS},
    "wizard.queue": {"wizard.queue", "wizard.store", "wizard.config", "wizard.logs"},
    "wizard.web": {"wizard.web", "wizard.domain", "wizard.store", "wizard.queue", *SEAMS},
    "wizard.dev": {"wizard.dev", "wizard.web", "wizard.domain", "wizard.store", "wizard.queue",
                   *SEAMS},
    # wizard.web.url_map: the sweep job composes emails, and their links come
    # from the web's URL map (built without an app; wizard/domain/mail.py).
    "jobs": {"jobs", "wizard.domain", "wizard.store", "wizard.queue", "wizard.web.url_map", *SEAMS},
    "wizard.clock": set(),
    "wizard.config": set(),
    "wizard.files": set(),
    "wizard.logs": set(),
    "wizard.refusals": set(),
    # The app factory puts the layers together.
    "wizard": {"wizard"},
}
WEB_OR_QUEUE = ("flask", "flask_login", "flask_wtf", "flask_htmx", "flask_limiter", "wtforms",
                "werkzeug", "rq", "redis")


def modules():
    """{dotted name: path} of every module of the wizard and jobs packages."""
    found = {}
    for top in ("wizard", "jobs"):
        for folder, _, files in os.walk(os.path.join(ROOT, top)):
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
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                # `from wizard import clock` imports wizard.clock, not the factory
                found.add(submodule if submodule in MODULES else base)
                found.add(submodule)
    return found


MODULES = modules()
IMPORTS = {name: imports_of(name, path) for name, path in MODULES.items()}


def own_imports(name):
    """What `name` imports of the wizard and jobs packages (modules only)."""
    return {i for i in IMPORTS[name] if i in MODULES and i != name}


def layer_of(name):
    """The MAY_IMPORT key `name` belongs to: its longest matching prefix."""
    keys = [k for k in MAY_IMPORT if name == k or name.startswith(k + ".")]
    return max(keys, key=len)


def under(name, prefixes):
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def source(name):
    with open(MODULES[name]) as f:
        return f.read()


def test_every_module_belongs_to_a_layer():
    assert all(layer_of(name) for name in MODULES)
    assert {"wizard.store.db", "wizard.domain.steps", "wizard.web.hooks", "wizard.dev.cli",
            "jobs.sweep"} <= set(MODULES)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_each_module_imports_only_what_its_layer_may(name):
    layer = layer_of(name)
    allowed = MAY_IMPORT[layer]
    if layer == "wizard":  # the factory itself: anything of the wizard, nothing of jobs
        allowed = {"wizard"}
    wrong = {i for i in own_imports(name) if not under(i, allowed)
             and not name.startswith(i + ".")}  # a package's own __init__
    assert not wrong, f"{name} ({layer}) may not import {sorted(wrong)}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES
                                        if under(n, ("wizard.domain", "wizard.store"))))
def test_the_domain_and_store_import_no_flask_or_rq(name):
    web = {i for i in IMPORTS[name] if i.split(".")[0] in WEB_OR_QUEUE}
    assert not web, f"{name} imports {sorted(web)}"


def test_modules_import_each_other_without_cycles():
    graph = {name: {i for i in own_imports(name) if not name.startswith(i + ".")}
             for name in MODULES}
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
    areas = ("auth", "billing", "calls", "cancel", "qa", "success")
    for area in areas:
        for name in MODULES:
            if under(name, (f"wizard.web.{area}",)):
                others = {i for i in IMPORTS[name] for other in areas
                          if other != area and under(i, (f"wizard.web.{other}",))
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
        if name != "wizard.web.htmx":
            assert not re.search(r"[\"']HX-", code), f"{name} names an HX-* header"
        if name not in ("wizard.queue", "jobs.schedule"):  # the enqueuer; rq cron's schedule
            assert not {i for i in IMPORTS[name] if i.split(".")[0] == "rq"}, f"{name} imports RQ"


MAX_DOMAIN_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


@pytest.mark.parametrize("name", sorted(n for n in MODULES if under(n, ("wizard.domain",))))
def test_a_domain_module_reads_in_one_sitting(name):
    lines = source(name).count("\n")
    assert lines <= MAX_DOMAIN_MODULE_LINES, f"{name} has {lines} lines: split it by subject"


def test_no_function_is_longer_than_a_screen():
    long = []
    for name, path in MODULES.items():
        with open(path) as f:
            tree = ast.parse(f.read())
        long += [f"{name}.{node.name} ({node.end_lineno - node.lineno + 1} lines)"
                 for node in ast.walk(tree)
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"split into named steps: {long}"


# -- wording ----------------------------------------------------------------------------------

# The help article writes American English: "canceled", "canceling" (and
# "cancellation", as both do). A word of the British spelling, outside a
# name of code (is_cancelled, "call_cancelled", a stored status), is a slip.
BRITISH = re.compile(r"(?<![_\w.])[Cc]ancell(ed|ing)(?![_\w])")
CODE_VALUE = re.compile(r"^[rbuf]*(['\"]{1,3})[a-z_.]+\1$")


def test_the_pages_emails_and_messages_write_american_english():
    found = []
    for path in sorted(glob.glob(os.path.join(ROOT, "templates", "**", "*.*"), recursive=True)):
        with open(path) as f:
            found += [f"{os.path.relpath(path, ROOT)}:{n}" for n, line in enumerate(f, 1)
                      if BRITISH.search(line)]
    # A migration's name is stored with the schema's version: it stays as written.
    for path in sorted(p for p in modules().values() if not p.endswith("migrations.py")):
        with open(path) as f:
            for token in tokenize.generate_tokens(f.readline):
                if token.type == tokenize.STRING and not CODE_VALUE.match(token.string) \
                        and BRITISH.search(token.string):
                    found.append(f"{os.path.relpath(path, ROOT)}:{token.start[0]}")
    assert found == [], f"British spelling (write canceled, canceling): {found}"
