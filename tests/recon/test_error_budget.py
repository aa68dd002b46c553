"""scripts/recon_error_budget.py: the error budget follows the eval recon protocol."""

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

from spikevision import read_dat, write_dat
from spikevision.samples import sample

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "recon_error_budget.py"


@pytest.fixture(scope="module")
def budget():
    spec = importlib.util.spec_from_file_location("recon_error_budget", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def reds_dir(tmp_path_factory):
    smp = sample()
    root = tmp_path_factory.mktemp("reds")
    (root / "spike").mkdir()
    (root / "gt").mkdir()
    write_dat(root / "spike" / "clip.dat", np.asarray(read_dat(smp.dat, height=smp.height, width=smp.width)))
    shutil.copy(smp.gt, root / "gt" / "clip.png")
    return root


def test_clip_budget_matches_eval_recon(budget, reds_dir):
    pytest.importorskip("scipy")
    (row,) = budget.clip_budget(reds_dir, "tfp")
    assert row["clip"] == "clip" and row["psnr"] == pytest.approx(23.50, abs=0.02)   # eval recon's TFP score
    assert row["psnr_affine"] >= row["psnr"] - 1e-9
    assert row["psnr_coarse_error_only"] > row["psnr"] and 0.1 < row["worst_tenth_error_share"] < 1


def test_empty_folder_is_a_clear_error(budget, tmp_path):
    (tmp_path / "spike").mkdir()
    with pytest.raises(SystemExit, match="no spike"):
        budget.clip_budget(tmp_path, "tfp")
    (tmp_path / "spike" / "a.dat").write_bytes(b"\0" * 12_500)
    with pytest.raises(SystemExit, match="no ground truth gt/NAME.png for: a"):
        budget.clip_budget(tmp_path, "tfp")


def test_truncated_clip_is_a_clear_error(budget, reds_dir, tmp_path):
    (tmp_path / "spike").mkdir()
    shutil.copytree(reds_dir / "gt", tmp_path / "gt")
    data = (reds_dir / "spike" / "clip.dat").read_bytes()
    (tmp_path / "spike" / "clip.dat").write_bytes(data[: len(data) // 2 + 7])
    with pytest.raises(ValueError, match="not a multiple of the 12500 bytes"):
        budget.clip_budget(tmp_path, "tfp")


def test_exact_motion_gain_restores_the_network(budget):
    pytest.importorskip("torch")
    from spikevision.recon.learned.api import load_model

    r = budget.exact_motion_gain(4, seed=1, patch=32)
    assert set(r) >= {"estimated", "exact"} and all(np.isfinite([r["estimated"], r["exact"]]))
    net = load_model("cnn")
    assert "forward" not in vars(net.velocity)   # the cached model runs its own velocity estimate again
