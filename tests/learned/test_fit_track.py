"""The track task: targets, a 2-iteration run on a tiny folder, loading at inference, bad inputs."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from spikevision.datasets import DatasetError  # noqa: E402
from spikevision.learned import CheckpointError, ConfigError, fit, load_checkpoint, load_config  # noqa: E402
from spikevision.learned.tasks.track import TrackTask, centre_targets  # noqa: E402

TINY_NET = {"width": 4, "offsets": [-1, 0, 1], "context": 2}


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    from spikevision.sim.objects import write_track_dataset

    out = tmp_path_factory.mktemp("trk_train")
    write_track_dataset(out, n_sequences=1, seed=3, n_frames=80,
                        scene_options={"height": 48, "width": 64, "n_objects": 1, "size": (14.0, 20.0),
                                       "dim_fraction": 0.0})
    return out


def _cfg(tmp_path, folder, **over):
    raw = {"task": "track", "iterations": 2, "batch": 2, "log_every": 1, "val_every": 2, "checkpoint_every": 1,
           "model_args": TINY_NET, "sources": [{"kind": "track", "path": str(folder)}], "val_dir": str(folder),
           **over}
    p = tmp_path / "tiny.json"
    p.write_text(json.dumps(raw))
    return load_config(p, overrides={"sources": raw["sources"]})


def test_centre_targets_known_values():
    heat, size, off, mask, ignore = centre_targets(np.array([[16.0, 8.0, 32.0, 8.0], [0.0, 0.0, 8.0, 8.0]]),
                                                   np.array([True, False]), (8, 8), (4, 8))
    assert heat.shape == (1, 8, 8) and size.shape == (2, 8, 8)
    # centre (32, 12) px = cell coordinates (4.0, 3.0): cell row 3, column 4, half a cell before its middle
    assert heat[0, 3, 4] == 1.0 and mask.sum() == 1 and mask[0, 3, 4] == 1
    np.testing.assert_allclose(size[:, 3, 4], [np.log(4.0), np.log(2.0)])
    np.testing.assert_allclose(off[:, 3, 4], [-0.5, -0.5])
    assert ignore[0, 0, 0] == 1 and ignore[0, 3, 4] == 0      # the box not considered is left out
    assert 0 < heat[0, 3, 5] < 1 and heat.max() == 1


def test_two_iterations_train_and_load(tmp_path, tiny_folder):
    from spikevision.track import LearnedSettings, TrackSettings, track
    from spikevision.track.learned import load_tracknet

    s = fit(_cfg(tmp_path, tiny_folder), out=tmp_path / "run", device="cpu", progress=False)
    assert s["iterations"] == 2 and np.isfinite(s["best"]["net"])
    log = [json.loads(x) for x in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in log] == [1, 2] and "val_f1" in log[1] and np.isfinite(log[0]["loss"])
    ck = load_checkpoint(tmp_path / "run" / "best.pt", task="track")
    assert ck.model == "tracknet" and ck.model_args["offsets"] == [-1, 0, 1]
    net = load_tracknet(str(tmp_path / "run" / "best.pt"))
    assert net.cfg.width == 4
    spikes = np.random.default_rng(0).random((80, 48, 64)) < 0.2
    res = track(spikes.astype(np.uint8), method="learned",
                settings=TrackSettings(learned=LearnedSettings(weights=str(tmp_path / "run" / "best.pt"))))
    assert res.rows.shape[1] == 7 and res.detections.shape[1] == 6


def test_synthetic_source_sample_shapes():
    from spikevision.learned.tasks.track import SyntheticTrack, TrackSynthConfig
    from spikevision.track.learned import TrackNetConfig

    net = TrackNetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in TINY_NET.items()})
    x, heat, size, off, mask, ignore = SyntheticTrack(net, TrackSynthConfig(48, 64, 60), flip=True).sample(
        np.random.default_rng(0))
    assert x.shape == (4, 12, 8) and x.dtype == np.float32
    assert heat.shape == mask.shape == ignore.shape == (1, 12, 8) and size.shape == off.shape == (2, 12, 8)


def test_bad_inputs(tmp_path, tiny_folder):
    from spikevision.track import LearnedSettings
    from spikevision.track.learned import load_tracknet

    with pytest.raises(ConfigError, match="model_args"):
        TrackTask().build_models(_cfg(tmp_path, tiny_folder, model_args={"depth": 3}))
    with pytest.raises(ConfigError, match="val_threshold"):
        _cfg(tmp_path, tiny_folder, val_threshold=2.0)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="no tracking sequence"):
        TrackTask().source(load_config(None, task="track").sources[0].__class__(kind="auto", path=str(empty)),
                           _cfg(tmp_path, tiny_folder))
    with pytest.raises(ValueError, match="threshold"):
        LearnedSettings(threshold=1.5)
    with pytest.raises(TypeError):
        LearnedSettings(weights=3)
    with pytest.raises(CheckpointError, match="not a 'track'"):
        load_tracknet("recon_cnn")
    with pytest.raises(FileNotFoundError):
        load_tracknet(str(tmp_path / "missing.pt"))
