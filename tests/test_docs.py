"""The documentation's own rules: a short README, CI running its test command, no machine paths, the gallery."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MACHINE_PATH = re.compile(r"(?<![\w.~-])/(?:work|home|tmp|root|Users|mnt|scratch)/")


def _doc_files() -> list[Path]:
    files = [README, ROOT / "mkdocs.yml", *sorted((ROOT / "examples").glob("*"))]
    files += [p for p in sorted((ROOT / "docs").rglob("*")) if p.suffix in {".md", ".py"} and "generated" not in p.parts]
    return [p for p in files if p.is_file()]


def test_readme_is_short() -> None:
    n = len(README.read_text(encoding="utf-8").splitlines())
    assert n <= 160, f"README.md has {n} lines, at most 160 allowed"


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    readme = README.read_text(encoding="utf-8").splitlines()
    test_cmds = [line for line in readme if line.startswith("python3 -m venv") and "pytest" in line]
    assert len(test_cmds) == 1, f"expected one test command in README.md, found {test_cmds}"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_cmds[0] in ci, ".ci/run must run the README's test command exactly as written"
    docs_line = [i for i, line in enumerate(ci) if "mkdocs build --strict" in line]
    assert docs_line and docs_line[0] > ci.index(test_cmds[0]), "the strict docs build must follow the test command"


@pytest.mark.parametrize("path", _doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_machine_paths(path: Path) -> None:
    bad = [f"{i}: {line.strip()}" for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
           if MACHINE_PATH.search(line)]
    assert not bad, f"absolute machine paths in {path.relative_to(ROOT)}:\n" + "\n".join(bad)


def test_gallery_has_at_least_eight_titled_examples() -> None:
    examples = sorted((ROOT / "examples").glob("plot_*.py"))
    assert len(examples) >= 8, f"the gallery needs at least 8 examples, found {len(examples)}"
    assert (ROOT / "examples" / "README.md").is_file(), "examples/README.md is the gallery's index"
    for ex in examples:
        doc = ast.get_docstring(ast.parse(ex.read_text(encoding="utf-8")))
        assert doc and doc.lstrip().startswith("# "), f"{ex.name}: the docstring must start with a '# Title' line"
        assert "shared/data" not in ex.read_text(encoding="utf-8"), f"{ex.name}: use the bundled sample or generated data"


def test_nav_pages_and_api_modules_exist() -> None:
    conf = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = re.findall(r"^\s*-\s*(?:[^:\n]+:\s*)?([\w/.-]+\.md)\s*$", conf, re.M)
    assert pages, "no pages found in mkdocs.yml's nav"
    missing = [p for p in pages if not (ROOT / "docs" / p).is_file()]
    assert not missing, f"nav entries without a page: {missing}"
    for page in sorted((ROOT / "docs" / "api").glob("*.md")):
        for module in re.findall(r"^::: ([\w.]+)", page.read_text(encoding="utf-8"), re.M):
            assert (ROOT / "src" / Path(*module.split("."))).with_suffix(".py").is_file() or \
                (ROOT / "src" / Path(*module.split(".")) / "__init__.py").is_file(), f"{page.name}: no module {module}"
    assert importlib.util.find_spec("spikevision") is not None
