"""Every ``spikevision ...`` command shown in README.md and docs/**/*.md runs as written.

The convention (docs/contributing.md):

* Lines starting with ``spikevision `` inside fenced ```` ```bash ```` blocks are commands that must
  run. Blocks fenced ```` ```console ```` are examples that need a cluster, a GPU or external data
  and are not run.
* A trailing ``# comment`` is dropped; ``a; b`` are two commands; ``[--opt X]`` optional parts
  are included, and in ``a|b`` alternatives the first is used.
* Commands run one by one, each in a fresh working directory holding the fixture files below,
  with ``../shared/data`` linked to the shared data (commands that use it are skipped, with the
  reason, when it is absent). Placeholders: ``COMMAND`` -> ``info``, ``DIR`` -> ``synth/``.
* ``train`` commands (``train recon``, ``train flow``, ``comm train``) take hours: they are
  parsed (every option and the config file are checked) but not run. Commands that name an
  absolute path (a machine's own folders) are skipped.

Fixtures (made once per session, seeded):

``clip.dat``
    301 frames of 250 x 400 (the Vidar size, ``--sensor vidar``): the bundled sample's ground-truth
    frame panning 1 px per frame, simulated with the REDS camera preset.
``photo.png``
    a 96 x 128 grey photo (the bundled GT frame, resized).
``clip.mp4``
    a 4-frame 96 x 128 video of that photo panning.
``synth/``
    a ``spikevision synth`` dataset: 2 scenes of 96 x 128, 200 frames, GT every 50 frames, flows for dt 10 and 20.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SPIKEVISION_SHARED_DATA", REPO.parent / "shared" / "data"))
PLACEHOLDERS = {"COMMAND": "info", "DIR": "synth/"}
TRAIN = (("train",), ("comm", "train"))


def _doc_files() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def _expand(line: str) -> list[str]:
    """The runnable commands of one documented line (see the module docstring)."""
    line = line.split(" #", 1)[0].strip()
    out = []
    for part in line.split(";"):
        part = part.strip()
        part = re.sub(r"\[([^\]]*)\]", r"\1", part)  # optional parts included
        part = re.sub(r"(\S+?)\|\S+", r"\1", part)  # first alternative
        words = [PLACEHOLDERS.get(w, w) for w in shlex.split(part)]
        if words and words[0] == "spikevision":
            out.append(shlex.join(words))
    return out


def documented_commands() -> list[tuple[str, str]]:
    """``(where, command)`` for every command line in a ```bash block of the docs."""
    found = []
    for f in _doc_files():
        text = f.read_text()
        for m in re.finditer(r"^```bash[^\n]*\n(.*?)^```", text, re.S | re.M):
            first = text[: m.start()].count("\n") + 2  # line number of the block's first line
            lines = m.group(1).split("\n")
            k = 0
            while k < len(lines):
                start, line = k, lines[k]
                while line.endswith("\\") and k + 1 < len(lines):  # a trailing backslash continues the line
                    k += 1
                    line = line[:-1] + " " + lines[k].strip()
                k += 1
                if line.strip().startswith("spikevision "):
                    for cmd in _expand(line.strip()):
                        found.append((f"{f.relative_to(REPO)}:{first + start}", cmd))
    return found


COMMANDS = documented_commands()


def test_commands_are_found():
    assert len(COMMANDS) >= 20
    assert all(c.startswith("spikevision") for _, c in COMMANDS)


def test_expand_rules():
    assert _expand("spikevision info clip.dat [--json]   # stats") == ["spikevision info clip.dat --json"]
    assert _expand("spikevision a --chain auto|on|off [--ensemble 1|8]") == ["spikevision a --chain auto --ensemble 1"]
    assert _expand("spikevision --version; spikevision COMMAND --help") == ["spikevision --version",
                                                                            "spikevision info --help"]


@pytest.fixture(scope="session")
def fixtures(tmp_path_factory) -> Path:
    from PIL import Image

    from spikevision.io.dat import write_dat
    from spikevision.samples import sample
    from spikevision.sim import simulate, write_dataset
    from spikevision.viz import write_video

    d = tmp_path_factory.mktemp("doc_fixtures")
    gt = np.asarray(Image.open(sample().gt).convert("L"), np.float32) / 255.0
    pad = np.pad(gt, ((0, 0), (0, 301)), mode="reflect")
    frames = np.stack([pad[:, t : t + 400] for t in range(0, 301, 20)])  # 1 px/frame, key images every 20
    write_dat(d / "clip.dat", np.asarray(simulate(frames, frames_per_image=20, n_frames=301, seed=0)))
    small = np.asarray(Image.fromarray(np.round(gt * 255).astype(np.uint8)).resize((128, 96)))
    Image.fromarray(small).save(d / "photo.png")
    wide = np.pad(small, ((0, 0), (0, 8)), mode="reflect")
    write_video(d / "clip.mp4", np.stack([wide[:, t : t + 128] for t in (0, 2, 4, 6)]), fps=10)
    write_dataset(d / "synth", n_scenes=2, seed=0, height=96, width=128, n_frames=200, gt_every=50)
    return d


def _parse_only(argv: list[str]) -> None:
    """Resolve a command and parse all its options (types, existing files) without running it."""
    import click

    from spikevision.cli.main import cli

    cmd, ctx, name = cli, None, "spikevision"
    while True:
        ctx = cmd.make_context(name, list(argv), parent=ctx)
        if not isinstance(cmd, click.Group):
            return
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        name, cmd, argv = cmd.resolve_command(ctx, rest)


@pytest.mark.slow
@pytest.mark.parametrize("where,command", COMMANDS, ids=[f"{w} {c[12:60]}" for w, c in COMMANDS])
def test_documented_command_runs(where, command, fixtures, tmp_path):
    argv = shlex.split(command)[1:]
    if any(a.startswith("/") for a in argv):
        pytest.skip(f"{where}: names an absolute path (a machine's own folder): {command}")
    if any("../shared/data" in a for a in argv) and not SHARED_DATA.is_dir():
        pytest.skip(f"{where}: needs ../shared/data, not found at {SHARED_DATA}")
    work = tmp_path / "work"
    shutil.copytree(fixtures, work)
    if SHARED_DATA.is_dir():
        os.symlink(SHARED_DATA.parent, tmp_path / "shared")
    for name in ("configs",):  # configs the train commands name, relative to the repo root
        os.symlink(REPO / name, work / name)
    if tuple(argv[: len(TRAIN[1])]) in TRAIN or tuple(argv[:1]) in TRAIN:
        cwd = os.getcwd()
        os.chdir(work)
        try:
            _parse_only(argv)
        finally:
            os.chdir(cwd)
        return
    env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    res = subprocess.run([sys.executable, "-m", "spikevision.cli.main", *argv], cwd=work, env=env,
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, f"{where}: `{command}` failed ({res.returncode}):\n{res.stderr[-3000:]}"
