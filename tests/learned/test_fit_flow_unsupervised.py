"""``spikevision train flow --unsupervised``: self-supervised fine-tuning of the shipped flow network on a
folder of unlabeled recordings, and its checkpoint loaded by ``spikevision flow --weights``."""

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from spikevision.cli.main import cli  # noqa: E402

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "flow" / "unsupervised.json"


def _moving(frames: int, seed: int, h: int = 40, w: int = 48, *, spikes: bool = True) -> np.ndarray:
    """Spikes (or intensities) of a smooth texture drifting 0.4 px/frame right and 0.2 down (REDS camera)."""
    import cv2

    from spikevision.sim import fire

    rng = np.random.default_rng(seed)
    tex = cv2.GaussianBlur(rng.random((h + 40, w + 40)).astype(np.float32), (0, 0), 2.0)
    tex = (tex - tex.min()) / (tex.max() - tex.min())
    seq = [cv2.warpAffine(tex, np.float32([[1, 0, 10 - 0.4 * t], [0, 1, 10 - 0.2 * t]]), (w, h)) for t in range(frames)]
    return fire(np.stack(seq), seed=seed) if spikes else np.stack(seq)


@pytest.fixture()
def tiny_config(tmp_path):
    """The shipped self-supervised config, shrunk to seconds: 32 px crops, dt 10, 2 validation pairs."""
    raw = json.loads(CONFIG.read_text())
    raw.update(size=32, dts=[10], val_samples=2, batch=2, log_every=1, val_every=2, checkpoint_every=1)
    p = tmp_path / "unsup.json"
    p.write_text(json.dumps(raw))
    return p


def test_unsupervised_finetune_cli_and_load(tmp_path, tiny_config):
    data = tmp_path / "recordings"
    data.mkdir()
    from spikevision.io import save
    from spikevision.sim import simulate_to_dat

    np.save(data / "a.npy", _moving(56, 1))
    save(data / "b.npz", _moving(60, 2))
    simulate_to_dat(_moving(58, 4, spikes=False), data / "c.dat", metadata=True)  # its size from the sidecar
    out = tmp_path / "run"
    r = CliRunner().invoke(cli, ["train", "flow", "--config", str(tiny_config), "--data", str(data), "--unsupervised",
                                 "--iterations", "2", "--out", str(out), "-q"])
    assert r.exit_code == 0, r.output
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [rec["iteration"] for rec in log] == [1, 2] and np.isfinite(log[-1]["val_unsup"])
    assert all(np.isfinite(rec["loss"]) and rec["loss"] > 0 for rec in log)
    from spikevision.learned import load_checkpoint

    ck = load_checkpoint(out / "best.pt", task="flow")
    assert ck.model_args["iters"] == 3 and ck.model_args["init_preset"] == "smooth-fast" and ck.meta["dts"] == [10]
    r = CliRunner().invoke(cli, ["flow", str(data / "a.npy"), "--t0", "22", "--dt", "10", "--weights",
                                 str(out / "best.pt"), "-o", str(tmp_path / "f.npy")])
    assert r.exit_code == 0, r.output
    flow = np.load(tmp_path / "f.npy")
    assert flow.shape == (40, 48, 2) and np.isfinite(flow).all()


def test_unsupervised_bad_input(tmp_path, tiny_config):
    def train(*args):
        return CliRunner().invoke(cli, ["train", "flow", "--config", str(tiny_config), "--unsupervised", "--iterations",
                                        "1", "--out", str(tmp_path / "run"), "-q", *args])

    empty = tmp_path / "empty"
    empty.mkdir()
    r = train("--data", str(empty))
    assert r.exit_code != 0 and "no spike recordings" in str(r.exception)
    short = tmp_path / "short"
    short.mkdir()
    np.save(short / "s.npy", _moving(45, 3))  # 41-frame windows 10 frames apart need 51
    r = train("--data", str(short))
    assert r.exit_code != 0 and "51-frame windows" in str(r.exception) and "self-supervised" in str(r.exception)
    r = train()  # the config's generated scenes: they have GT, not this mode's data
    assert r.exit_code != 0 and "--data FOLDER" in str(r.exception)
    from spikevision.datasets import DatasetError

    assert isinstance(r.exception, DatasetError)
