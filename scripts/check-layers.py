#!/usr/bin/env python3
"""Checks that `src/` has no import circle, at two levels (run by `make test`).

- Layers: each top-level room may use only the rooms above it in LAYERS, never one below
  (README, "How it fits together").
- Files: no two files use each other, directly or through others (one strongly connected
  component of the file graph is a circle).

Unit tests are left out. A file "uses" another when it names its module path: `crate::a::b`, `der_studio::a::b`,
`super::b` or `self::b`. Declaring a child (`mod b;`) is not a use.
"""
import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
# Top to bottom: a room may use the rooms of the rows before its own, never its own row's
# others (the page and the worker talk only through the protocol).
LAYERS = [
    ["format"],
    ["engine"],
    ["classroom"],
    ["protocol"],
    ["tools"],
    ["web/browser"],
    ["web/page", "web/worker"],
    ["bin"],
]
ROOMS = [room for row in LAYERS for room in row]


def module_path(file: Path) -> list[str]:
    parts = list(file.relative_to(SRC).with_suffix("").parts)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return parts


def layer_of(parts: list[str]) -> str | None:
    joined = "/".join(parts)
    for layer in sorted(ROOMS, key=len, reverse=True):
        if joined == layer or joined.startswith(layer + "/"):
            return layer
    return None


def strip_comments_and_tests(text: str) -> str:
    # A file's unit tests (`#[cfg(test)] mod tests`, at its end) may use any module.
    text = re.split(r"#\[cfg\(test\)\]\s*mod tests", text)[0]
    return "\n".join(line.split("//")[0] for line in text.splitlines())


def uses(file: Path, modules: dict[tuple, Path]) -> set[tuple]:
    here = module_path(file)
    # `super` is the parent of the file's own module (a mod.rs is its directory's module).
    text = strip_comments_and_tests(file.read_text())
    found = set()
    pattern = r"\b(crate|der_studio|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)"
    for root, rest in re.findall(pattern, text):
        names = rest.strip(":").split("::")
        if root in ("crate", "der_studio"):
            base = []
        elif root == "self":
            base = list(here)
        else:
            base = list(here[:-1])
        while names and names[0] == "super":
            base = base[:-1]
            names = names[1:]
        path = base + names
        # The longest prefix that is a module file.
        for end in range(len(path), 0, -1):
            key = tuple(path[:end])
            if key in modules:
                if key != tuple(here) and not tuple(here[: len(key)]) == key:
                    found.add(key)
                break
    return found


def main() -> int:
    files = sorted(SRC.rglob("*.rs"))
    modules = {tuple(module_path(f)): f for f in files if module_path(f)}
    for f in files:
        if f.parent == SRC / "bin":
            modules[tuple(module_path(f))] = f
    graph = {key: uses(f, modules) for key, f in modules.items()}
    problems = []

    order = {room: i for i, row in enumerate(LAYERS) for room in row}
    for key, targets in graph.items():
        mine = layer_of(list(key))
        for target in targets:
            theirs = layer_of(list(target))
            if mine and theirs and mine != theirs and order[theirs] >= order[mine]:
                problems.append(
                    f"layer: {'/'.join(key)} ({mine}) uses {'::'.join(target)} ({theirs}), a layer not above it"
                )

    # Tarjan's strongly connected components over the file graph.
    index, low, stack, on_stack, circles = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted("::".join(c) for c in component))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index:
            visit(v)
    for circle in circles:
        problems.append("circle: " + " ⇄ ".join(circle))

    if problems:
        print("\n".join(problems))
        return 1
    edges = sum(len(t) for t in graph.values())
    print(f"layers ok: {len(graph)} modules, {edges} uses, no circle; layers top to bottom: {' | '.join(', '.join(row) for row in LAYERS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
