#!/usr/bin/env python3
"""Checks that `src/` has no import circle, at two levels (run first by `make test`).

- Layers: each room may use only the rooms of the rows above its own in LAYERS, never its own
  row's others or a lower one (README, "How it fits together"). A module in no room fails,
  except the containers that only declare modules (`lib.rs`, `web/mod.rs`).
- Files: no file uses itself through others: one strongly connected component of the file
  graph with two or more files is a circle. A parent that calls its child while the child calls
  back into the parent (`super::f`) is such a circle too.

A file uses a module when it names it or something in it: `crate::a::b`, `der_studio::a::b`,
`super::b`, `self::b`, a declared child's `b::x`, and every path of a `use` with braces
(`use crate::a::{b, c::d}`). Declaring a child (`mod b;`) is not a use, and a file's unit tests
(`#[cfg(test)] mod tests { … }`, at its end) are left out.
"""
import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
# Top to bottom: a room may use the rooms of the rows before its own.
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
# Modules that only declare others: they must hold no `use` and no code path into the crate.
CONTAINERS = {(), ("web",)}
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def module_path(file: Path) -> tuple:
    parts = list(file.relative_to(SRC).with_suffix("").parts)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return tuple(parts)


def room_of(path: tuple) -> str | None:
    joined = "/".join(path)
    for room in sorted(ROOMS, key=len, reverse=True):
        if joined == room or joined.startswith(room + "/"):
            return room
    return None


def code_of(text: str) -> str:
    """The file without its unit tests, comments and string literals."""
    text = re.split(r"#\[cfg\(test\)\]\s*mod tests\s*\{", text)[0]
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'r#*"(?:.|\n)*?"#*|"(?:\\.|[^"\\])*"', '""', text)
    return "\n".join(line.split("//")[0] for line in text.splitlines())


def expand(tree: str) -> list[str]:
    """`a::{b, c::{d, e}}` → ['a::b', 'a::c::d', 'a::c::e']."""
    tree = tree.strip()
    brace = tree.find("{")
    if brace < 0:
        return [tree] if tree else []
    prefix, inner = tree[:brace], tree[brace + 1 : tree.rindex("}")]
    parts, depth, current = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        current += ch
    parts.append(current)
    return [prefix + p for part in parts for p in expand(part)]


def paths_in(code: str, children: set[str]) -> list[list[str]]:
    paths = []
    for statement in re.findall(r"\buse\s+([^;]+);", code):
        for path in expand(re.sub(r"\s+", "", statement)):
            path = re.sub(r"\bas\b.*$", "", path)
            paths.append([p for p in path.split("::") if p and p != "*"])
    roots = "crate|der_studio|super|self" + "".join(f"|{re.escape(c)}" for c in children)
    for match in re.finditer(rf"(?<![A-Za-z0-9_:])((?:{roots})(?:::{IDENT})+)", code):
        paths.append(match.group(1).split("::"))
    return paths


def resolve(here: tuple, is_dir_module: bool, names: list[str], children: set[str], modules: dict):
    """The module a path names, or None (an outside crate)."""
    if not names:
        return None
    root, rest = names[0], names[1:]
    if root in ("crate", "der_studio"):
        base = ()
    elif root == "self":
        base = here
    elif root == "super":
        base = here[:-1]
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    elif root in children:
        base, rest = here + (root,), rest
    else:
        return None
    path = base + tuple(rest)
    for end in range(len(path), -1, -1):
        if path[:end] in modules:
            return path[:end]
    return None


def main() -> int:
    files = sorted(SRC.rglob("*.rs"))
    modules = {module_path(f): f for f in files}
    graph, problems = {}, []
    for key, file in modules.items():
        text = file.read_text()
        code = code_of(text)
        children = set(re.findall(rf"\bmod\s+({IDENT})\s*;", code))
        uses = set()
        for names in paths_in(code, children):
            target = resolve(key, file.name == "mod.rs", names, children, modules)
            if target is not None and target != key:
                uses.add(target)
        graph[key] = uses
        if key in CONTAINERS:
            if uses or re.search(r"\buse\s", code):
                problems.append(f"container {'::'.join(key) or 'lib'} uses {sorted('::'.join(u) for u in uses)}: it may only declare modules")
        elif room_of(key) is None:
            problems.append(f"module {'::'.join(key)} is in no room of LAYERS")

    order = {room: i for i, row in enumerate(LAYERS) for room in row}
    for key, targets in graph.items():
        mine = room_of(key)
        for target in targets:
            theirs = room_of(target)
            if mine and theirs and mine != theirs and order[theirs] >= order[mine]:
                problems.append(
                    f"layer: {'::'.join(key)} ({mine}) uses {'::'.join(target)} ({theirs}), a room not above it"
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
    rows = " | ".join(", ".join(row) for row in LAYERS)
    print(f"layers ok: {len(graph)} modules, {edges} uses, no circle; rooms top to bottom: {rows}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
