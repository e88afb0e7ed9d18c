"""The import graph of src/rama: no cycles, and every package imports only what is below it.

The graph is read from the source with :mod:`ast` (nothing is imported), so it counts every
``import`` statement: at module level, inside functions and under ``if TYPE_CHECKING:``.

- An edge ``a -> b`` means module ``a`` names module ``b`` in an import. ``from X import Y``
  is an edge to ``X.Y`` when ``X.Y`` is a module, else to ``X`` (for a package, its
  ``__init__``).
- The implied edge to a parent package (importing ``rama.optimize.solve`` runs
  ``rama/optimize/__init__.py`` first) is not counted, but an explicit
  ``from rama.optimize import x`` inside ``rama.optimize.*`` is an edge to
  ``rama.optimize``.
- A *unit* is a top-level module or package of ``rama`` (``rama.config``, ``rama.optimize``,
  ...); ``rama`` itself is the root ``__init__``.

The layer contract (docs/architecture.md): leaves import no stage; the stages are ordered and
a stage may import only leaves, itself, the stages before it (plus ``rama.synth ->
rama.data``) and the root ``rama`` (for ``__version__``). A unit that is neither a leaf nor a
stage fails the test: add it to ``LEAVES`` or ``STAGES`` when you add it to the tree.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "rama"

Graph = dict[str, set[str]]

LEAVES = frozenset(
    {
        "rama.errors",
        "rama.config",
        "rama.config_reference",
        "rama.cluster",
        "rama.io",
        "rama.layout",
        "rama.progress",
        "rama.run_state",
        "rama.results",
        "rama.run_manifest",
        "rama.rules",
        "rama.schema",
        "rama.scenario_spec",
    }
)
"""Shared leaves: they import only other leaves (and the root). Absent ones are tolerated."""

STAGES: tuple[tuple[str, ...], ...] = (
    ("rama.data", "rama.synth"),
    ("rama.prepare",),
    ("rama.forecast",),
    ("rama.problem",),
    ("rama.optimize",),
    ("rama.strategies",),
    ("rama.planning",),
    ("rama.evaluate",),
    ("rama.scenarios",),
    ("rama.report",),
    ("rama.testing",),
    ("rama.pipeline",),
    ("rama.cli",),
)
"""Stage order, lowest first; units in one tuple share a rank (and may not import each other,
except through ``EXTRA_ALLOWED``). Absent ones are tolerated."""

EXTRA_ALLOWED = frozenset({("rama.synth", "rama.data")})


# --- the graph ----------------------------------------------------------------------------


def module_names(src: Path, package: str) -> dict[str, Path]:
    """Every module of the package rooted at ``src``: dotted name -> file."""
    out: dict[str, Path] = {}
    for path in sorted(src.rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([package, *parts])] = path
    return out


def _known(name: str, modules: Mapping[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is a module of the tree (None: external)."""
    parts = name.split(".")
    for k in range(len(parts), 0, -1):
        candidate = ".".join(parts[:k])
        if candidate in modules:
            return candidate
    return None


def _imports(module: str, path: Path, modules: Mapping[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                hit = _known(alias.name, modules)
                if hit is not None:
                    targets.add(hit)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # relative: the containing package, then up (level - 1) more
                base_parts = module.split(".") if is_package else module.split(".")[:-1]
                if node.level > 1:
                    base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                hit = sub if sub in modules else _known(base, modules)
                if hit is not None:
                    targets.add(hit)
    targets.discard(module)
    return targets


def import_graph(src: Path = SRC, package: str = "rama") -> Graph:
    """Module -> the modules of the same tree it imports (see the module doc)."""
    modules = module_names(src, package)
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def unit_of(module: str, package: str = "rama") -> str:
    """The top-level module or package of ``module`` (``package`` for the root)."""
    parts = module.split(".")
    return package if len(parts) == 1 else ".".join(parts[:2])


def unit_graph(graph: Graph, package: str = "rama") -> Graph:
    """The graph between top-level units (edges inside a unit dropped)."""
    out: Graph = {}
    for a, targets in graph.items():
        ua = unit_of(a, package)
        out.setdefault(ua, set())
        for b in targets:
            ub = unit_of(b, package)
            if ub != ua:
                out[ua].add(ub)
    return out


# --- cycles -------------------------------------------------------------------------------


def strongly_connected(graph: Graph) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one node (or a self-loop)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def a_cycle(graph: Graph, component: Iterable[str]) -> list[str]:
    """One concrete cycle through the first node of a strongly connected component,
    as a closed path ``[a, b, ..., a]`` (shortest, by breadth-first search)."""
    nodes = set(component)
    start = min(nodes)
    parent: dict[str, str] = {}
    frontier = [start]
    seen = {start}
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph.get(v, ())):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [*reversed(path), start]
                if w in nodes and w not in seen:
                    seen.add(w)
                    parent[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"{sorted(nodes)} is not strongly connected")  # pragma: no cover


def describe_cycles(graph: Graph) -> list[str]:
    """One line per cycle: the component, then one closed path through it."""
    lines = []
    for comp in strongly_connected(graph):
        path = " -> ".join(a_cycle(graph, comp))
        lines.append(f"{{{', '.join(comp)}}}: {path}")
    return lines


# --- the layer contract -------------------------------------------------------------------


def layer_violations(
    graph: Graph,
    leaves: frozenset[str] = LEAVES,
    stages: tuple[tuple[str, ...], ...] = STAGES,
    extra: frozenset[tuple[str, str]] = EXTRA_ALLOWED,
    package: str = "rama",
) -> list[str]:
    """Every import that breaks the contract, as ``"a -> b (why)"``."""
    rank = {unit: r for r, group in enumerate(stages) for unit in group}
    out = []
    for a in sorted(graph):
        ua = unit_of(a, package)
        if ua != package and ua not in leaves and ua not in rank:
            out.append(f"{a}: unit {ua} is neither a leaf nor a stage (add it to the contract)")
            continue
        for b in sorted(graph[a]):
            ub = unit_of(b, package)
            if ub in (ua, package) or (ua, ub) in extra:
                continue
            if ua in leaves or ua == package:
                if ub not in leaves:
                    out.append(f"{a} -> {b} (a leaf imports the stage {ub})")
            elif ub in leaves:
                continue
            elif ub not in rank:
                out.append(f"{a} -> {b} (unit {ub} is neither a leaf nor a stage)")
            elif rank[ub] >= rank[ua]:
                order = "the same rank as" if rank[ub] == rank[ua] else "after"
                out.append(f"{a} -> {b} ({ub} comes {order} {ua})")
    return out


# --- the tests ----------------------------------------------------------------------------


def test_the_graph_sees_the_tree() -> None:
    graph = import_graph()
    assert "rama.pipeline" in graph and "rama.cli" in graph
    # imports inside functions count: the pipeline imports its stages lazily
    assert {"rama.prepare", "rama.planning", "rama.report"} <= graph["rama.pipeline"]
    assert all(t.startswith("rama") for targets in graph.values() for t in targets)


def test_no_import_cycle_between_modules() -> None:
    cycles = describe_cycles(import_graph())
    assert not cycles, "import cycles between modules:\n  " + "\n  ".join(cycles)


def test_no_import_cycle_between_top_level_packages() -> None:
    cycles = describe_cycles(unit_graph(import_graph()))
    assert not cycles, "import cycles between top-level packages:\n  " + "\n  ".join(cycles)


def test_layer_contract() -> None:
    bad = layer_violations(import_graph())
    assert not bad, "imports against the layer order:\n  " + "\n  ".join(bad)


def _write_tree(root: Path, files: Mapping[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def test_the_checker_catches_cycles_and_layer_breaks(tmp_path: Path) -> None:
    """A fake package with known cycles: the checks above can fail."""
    src = _write_tree(
        tmp_path / "fake",
        {
            "__init__.py": '__version__ = "0"\n',
            "leaf.py": "import os\n",
            # a <-> b: b imports a inside a function, a names b through `from fake import b`
            "a.py": "from fake import b\nfrom fake.leaf import x\n",
            "b.py": "def f():\n    import fake.a\n",
            # pkg.sub -> pkg (explicit `from fake.pkg import ...`) and pkg -> pkg.sub
            "pkg/__init__.py": "from .sub import thing\n",
            "pkg/sub.py": "from fake.pkg import other\n",
            # no cycle: the implied edge to the parent package is not counted
            "ok/__init__.py": "from fake.ok.inner import y\n",
            "ok/inner.py": "import fake\nfrom fake import __version__\n",
            # a leaf importing a stage
            "bad_leaf.py": "from fake.pkg import thing\n",
        },
    )
    graph = import_graph(src, "fake")
    assert graph["fake.a"] == {"fake.b", "fake.leaf"}
    assert graph["fake.b"] == {"fake.a"}
    assert graph["fake.pkg"] == {"fake.pkg.sub"}
    assert graph["fake.pkg.sub"] == {"fake.pkg"}
    assert graph["fake.ok.inner"] == {"fake"}

    assert strongly_connected(graph) == [["fake.a", "fake.b"], ["fake.pkg", "fake.pkg.sub"]]
    assert describe_cycles(graph) == [
        "{fake.a, fake.b}: fake.a -> fake.b -> fake.a",
        "{fake.pkg, fake.pkg.sub}: fake.pkg -> fake.pkg.sub -> fake.pkg",
    ]
    units = unit_graph(graph, "fake")
    assert strongly_connected(units) == [["fake.a", "fake.b"]]

    bad = layer_violations(
        graph,
        leaves=frozenset({"fake.leaf", "fake.bad_leaf"}),
        stages=(("fake.b",), ("fake.a", "fake.ok"), ("fake.pkg",)),
        extra=frozenset(),
        package="fake",
    )
    assert bad == [
        "fake.b -> fake.a (fake.a comes after fake.b)",
        "fake.bad_leaf -> fake.pkg (a leaf imports the stage fake.pkg)",
    ]


def test_a_cycle_is_a_closed_path() -> None:
    graph: Graph = {"c": {"d"}, "d": {"e", "x"}, "e": {"c"}, "x": set(), "s": {"s"}}
    assert strongly_connected(graph) == [["c", "d", "e"], ["s"]]
    assert describe_cycles(graph) == ["{c, d, e}: c -> d -> e -> c", "{s}: s -> s"]
