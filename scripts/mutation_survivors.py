"""Survivors of the last `scripts/mutation` run, split into wording (only a string changed) and the rest.

    .venv/bin/python scripts/mutation_survivors.py [--list]

Reads mutmut's results and the mutant functions it wrote under mutants/: a mutant whose function differs from the
original only in prose (a string with white space in it, or a piece of an f-string) changes what a card says, not
what it decides. Single words stay logic: value set names, statuses, units and codes are decisions.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _functions(module: str) -> dict[str, ast.AST]:
    path = ROOT / "mutants" / (module.replace(".", "/") + ".py")
    if not path.exists():  # a package: its __init__.py
        path = path.with_suffix("") / "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: dict[str, ast.AST] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and "__mutmut_" in node.name:
            found[node.name] = node
    return found


def _only_prose_differs(a: ast.AST, b: ast.AST) -> bool:
    """Same tree once prose is blanked in both (the function names differ too: ignore them)."""

    def blank(node: ast.AST) -> str:
        node = ast.parse(ast.unparse(node)).body[0]
        node.name = "f"  # type: ignore[attr-defined]
        in_fstrings = {id(v) for n in ast.walk(node) if isinstance(n, ast.JoinedStr) for v in n.values}
        for n in ast.walk(node):
            if (
                isinstance(n, ast.Constant)
                and isinstance(n.value, str)
                and (id(n) in in_fstrings or any(c.isspace() for c in n.value.replace("XX", "")))
            ):
                n.value = ""
        return ast.dump(node)

    return blank(a) == blank(b)


def main() -> int:
    out = subprocess.run(
        [str(ROOT / ".venv/bin/mutmut"), "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    states = dict(line.strip().rsplit(": ", 1) for line in out.splitlines() if ": " in line)
    cache: dict[str, dict[str, ast.AST]] = {}
    wording, logic = [], []
    for name, state in states.items():
        module, func = name.rsplit(".", 1)
        if module not in cache:
            cache[module] = _functions(module)
        functions = cache[module]
        original = functions.get(func.rsplit("__mutmut_", 1)[0] + "__mutmut_orig")
        is_wording = original is not None and func in functions and _only_prose_differs(original, functions[func])
        (wording if is_wording else logic).append((name, state))
    for label, group in (("wording", wording), ("non-wording", logic)):
        killed = sum(s in ("killed", "timeout") for _, s in group)
        print(f"{label}: {len(group)} mutants, killed {killed}, score {killed / max(1, len(group)):.1%}")
    if "--diff" in sys.argv:  # --diff PART: the surviving non-wording mutants whose name contains PART, as diffs
        part = sys.argv[sys.argv.index("--diff") + 1]
        for name, state in logic:
            if state == "survived" and part in name:
                module, func = name.rsplit(".", 1)
                original = cache[module][func.rsplit("__mutmut_", 1)[0] + "__mutmut_orig"]
                a, b = ast.unparse(original).splitlines(), ast.unparse(cache[module][func]).splitlines()
                changed = [f"  - {x.strip()}\n  + {y.strip()}" for x, y in zip(a[1:], b[1:], strict=False) if x != y]
                print(name, *changed[:2], sep="\n")
    if "--list" in sys.argv:
        survivors = [n for n, s in logic if s == "survived"]
        print(Counter(n.rsplit("__mutmut_", 1)[0] for n in survivors).most_common())
        print("\n".join(survivors))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
