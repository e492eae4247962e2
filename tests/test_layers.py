"""The package graph is one-way, as docs/ARCHITECTURE.md states it: a test reads the layers out of that
page and every import of every module, and checks one against the other.

Bottom to top: `common` (atomic files, downloads, JSON/YAML, the CLI runner, the runtime); `pose`
(skeleton, oks, the model and its weights); `detection`, `flow` and `eval`, which may use the layers
below but not each other; `tracker` and `training`, the applications, which do not use each other
either. Imports inside functions (the lazy ones) count as much as those at the top of a module.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"


def documented_layers(page: Path = ARCHITECTURE) -> dict[str, int]:
    """Package -> layer from the page's layer table (rows `| N | `pkg`, `pkg` | ...`)."""
    layers = {}
    for line in page.read_text(encoding="utf-8").splitlines():
        row = re.match(r"\|\s*(\d+)\s*\|([^|]*)\|", line)
        if row:
            layers.update({name: int(row.group(1)) for name in re.findall(r"`(\w+)`", row.group(2))})
    return layers


LAYERS = documented_layers()


def imported_packages(path: Path) -> set[str]:
    """The top-level names of our packages that a module imports (absolute and relative)."""
    package = path.relative_to(ROOT).parts[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add(package if node.level else (node.module or "").split(".")[0])
    return found & set(LAYERS)


def layer_violations() -> list[str]:
    """Every import of a package by one on its own layer or a lower one, as 'module -> package'."""
    problems = []
    for package, level in LAYERS.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for target in sorted(imported_packages(path) - {package}):
                if LAYERS[target] >= level:
                    problems.append(f"{path.relative_to(ROOT)} -> {target}")
    return problems


def test_every_import_points_down_the_layers():
    assert layer_violations() == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    fake = tmp_path / "pose"
    fake.mkdir()
    (fake / "bad.py").write_text("def late():\n    from tracker.runner import track_videos\n")
    (tmp_path / "flow").mkdir()
    (tmp_path / "flow" / "sibling.py").write_text("import eval.coco\nfrom . import propagate\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert layer_violations() == ["pose/bad.py -> tracker", "flow/sibling.py -> eval"]


def test_the_page_states_every_package_and_sub_package():
    code_packages = {"common", "pose", "detection", "flow", "eval", "tracker", "training"}  # setup.cfg's, less configs
    assert set(LAYERS) == code_packages
    page = ARCHITECTURE.read_text(encoding="utf-8")
    packages = sorted(str(init.parent.relative_to(ROOT)) for package in LAYERS
                      for init in (ROOT / package).rglob("__init__.py"))
    assert [package for package in packages if f"`{package}/`" not in page] == []
