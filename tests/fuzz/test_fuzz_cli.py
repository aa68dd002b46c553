"""Random command lines, run in-process through ``spikevision.cli.main.main(argv)``.

Each line must end with exit status 0 (and then a readable, non-empty
output when one was asked for), 1 (Click's abort) or 2 (usage or input
error, one line on stderr); never a traceback, another exception or a hang.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from spikevision.io import load, save

from .conftest import REPORT, budget
from .harness import _progress, time_limit

TMP = Path(tempfile.mkdtemp(prefix="sv-fuzz-cli-"))
_names = itertools.count()


def _inputs() -> list[str]:
    a = np.random.default_rng(0).integers(0, 2, (60, 12, 16), dtype=np.uint8)
    files = []
    for suffix in (".dat", ".npy", ".npz", ".h5"):
        p = TMP / f"in{suffix}"
        save(p, a)
        files.append(str(p))
    (TMP / "junk.npy").write_bytes(b"\x93NUMPY junk")
    (TMP / "junk.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    np.save(TMP / "seven.npy", a * 7)
    from PIL import Image

    Image.fromarray(np.full((12, 16), 100, np.uint8)).save(TMP / "img.png")
    (TMP / "bad.png").write_bytes((TMP / "img.png").read_bytes()[:40])
    return files + [str(TMP / n) for n in ("junk.npy", "junk.h5", "seven.npy", "img.png", "bad.png", "missing.dat")]


INPUTS = _inputs()
COMMANDS = {
    "info": ["--json"],
    "convert": ["--start", "--stop", "--out-upright"],
    "export-spikes": ["--mean", "--every", "--start", "--stop", "--fps", "--quiet"],
    "reconstruct": ["--at", "--every", "--window", "--rate-ratio", "--method", "--quiet"],
    "simulate": ["--frames", "--seed", "--height", "--width", "--json"],
}
DAT = ["-H", "-W", "--sensor", "--rate", "--upright", "--drop-partial"]
FLAGS = {"--json", "--out-upright", "--quiet", "--upright", "--drop-partial"}
values = st.one_of(st.integers(-3, 100).map(str), st.integers(-(2**70), 2**70).map(str),
                   st.sampled_from(["1e20", "1e-300", "nan", "inf", "-0", "0", "12x16", "vidar", "tfp", "tfi",
                                    "", "x", "1.5", "7.9"]), st.text(max_size=6))
OUT_SUFFIX = [".npy", ".dat", ".npz", ".h5", ".png", ".gif", ".txt"]


@st.composite
def command_lines(draw):
    cmd = draw(st.sampled_from(sorted(COMMANDS)))
    argv = [cmd, draw(st.sampled_from(INPUTS))]
    out = None
    if cmd != "info":
        out = str(TMP / f"o{next(_names)}{draw(st.sampled_from(OUT_SUFFIX))}")
        argv += [draw(st.sampled_from(["-o", "--output", "--out"])), out] if cmd != "convert" else [out]
    opts = COMMANDS[cmd] + (DAT if cmd != "simulate" else [])
    for opt in draw(st.lists(st.sampled_from(opts), max_size=4)):
        argv.append(opt)
        if opt not in FLAGS:
            argv.append(draw(values))
    if draw(st.booleans()) and argv[1].endswith(".dat"):
        argv += ["-H", "12", "-W", "16"]
    return argv, out


def _main(argv: list[str]) -> int:
    from spikevision.cli.main import main

    try:
        main(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


@budget()
@given(line=command_lines())
def test_random_command_lines(line, capsys):
    argv, out = line
    # A simulation of 2e5 .. 1e12 frames is a legitimate long job (hours), not a hang; longer ones
    # must be refused at once (disk space, memory budget), shorter ones finish in seconds.
    frames = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--frames"]
    assume(not (argv[0] == "simulate" and frames and frames[-1].lstrip("-").isdigit()
                and 2e5 < int(frames[-1]) < 1e12))
    with time_limit(120):
        code = _main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err, (argv, err)
    assert code in (0, 1, 2), (argv, code, err)
    REPORT["cli"]["exit0" if code == 0 else "refused"] += 1
    _progress("cli")
    if code == 0 and out and Path(out).suffix in (".npy", ".npz", ".h5") and argv[0] in ("convert", "simulate"):
        with load(out) as s:  # accepted output must be a valid, non-empty spike file
            assert s.n_frames > 0 and np.asarray(s).max() <= 1
    if code == 0 and out and Path(out).suffix == ".npy" and argv[0] in ("export-spikes", "reconstruct"):
        arr = np.load(out)
        assert arr.size > 0 and np.isfinite(arr).all(), (argv, arr.shape)
