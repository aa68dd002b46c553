"""The fit loop on the recon task: runs, logs, checkpoints, resumes, averages, starts from other weights."""

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("spikingjelly")

from spikevision.learned import CheckpointError, WeightAverage, fit, load_checkpoint, load_config  # noqa: E402
from spikevision.recon.learned import build_model  # noqa: E402

TINY = {"task": "recon", "model": "snn", "model_args": {"width": 4, "group": 7, "smooth_base": True}, "batch": 2,
        "val_samples": 2, "log_every": 1, "val_every": 2, "checkpoint_every": 1, "threads": 1, "warmup": 1,
        "data": {"patch": 24, "procedural": 2}}


def _cfg(tmp_path, name, **over):
    p = tmp_path / f"{name}.json"
    p.write_text(json.dumps({**TINY, **over}))
    return load_config(p)


def _fit(tmp_path, name, **over):
    return fit(_cfg(tmp_path, name, **over), out=tmp_path / name, device="cpu", progress=False)


def _state(path):
    return load_checkpoint(path, task="recon").state


def test_train_resume_and_widen(tmp_path):
    s = _fit(tmp_path, "a", iterations=2)
    assert s["iterations"] == 2 and (tmp_path / "a" / "best.pt").exists() and (tmp_path / "a" / "config.json").exists()
    s = _fit(tmp_path, "a", iterations=3)  # resumes at 2
    log = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert s["iterations"] == 3 and [r["iteration"] for r in log] == [1, 2, 3] and "val_psnr" in log[1]
    assert all(set(r) >= {"loss", "lr", "minutes"} for r in log)
    # a wider SNN starts from the narrow one's weights and computes the same images (lr ~0: nothing moves)
    wide_args = {**TINY["model_args"], "width": 6}
    _fit(tmp_path, "b", iterations=1, lr=1e-12, lr_min=0.0, init_from=str(tmp_path / "a" / "best.pt"),
         model_args=wide_args)
    narrow = build_model("snn", TINY["model_args"])
    narrow.load_state_dict(_state(tmp_path / "a" / "best.pt"))
    widened = build_model("snn", wide_args)
    widened.load_state_dict(_state(tmp_path / "b" / "last.pt"))
    x = (torch.rand(1, 41, 16, 20) < 0.3).float()
    narrow.eval(), widened.eval()
    with torch.no_grad():
        torch.testing.assert_close(widened(x), narrow(x), atol=1e-5, rtol=1e-5)


def test_bad_starts_are_clear_errors(tmp_path):
    _fit(tmp_path, "a", iterations=1)
    with pytest.raises(CheckpointError, match="different model"):  # another model left in the same out
        _fit(tmp_path, "a", iterations=2, model_args={**TINY["model_args"], "width": 5})
    with pytest.raises(CheckpointError, match="more than the width, the inputs and the fourth level"):
        _fit(tmp_path, "c", iterations=1, init_from=str(tmp_path / "a" / "best.pt"),
             model_args={**TINY["model_args"], "width": 6, "group": 5})
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="junk.pt"):
        _fit(tmp_path, "d", iterations=1, init_from=str(tmp_path / "junk.pt"))
    with pytest.raises(FileNotFoundError, match="absent.pt"):
        _fit(tmp_path, "e", iterations=1, init_from=str(tmp_path / "absent.pt"))
    with pytest.raises(FileNotFoundError, match="run that stage first"):   # a previous stage that has not run
        (tmp_path / "stage1.json").write_text(json.dumps(TINY))
        _fit(tmp_path, "f", iterations=1, init_from="stage1.json")
    with pytest.raises(CheckpointError, match="'snn' model, this run trains 'cnn'"):
        _fit(tmp_path, "g", iterations=1, model="cnn", model_args={}, init_from=str(tmp_path / "a" / "best.pt"))


def test_deep_cnn_starts_from_plain_cnn_weights_and_stage_configs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # stages' runs live in runs/<config name>
    plain = {"model": "cnn", "model_args": {"width": 4, "vel_width": 4}}
    fit(_cfg(tmp_path, "plain", iterations=1, **plain), device="cpu", progress=False)
    assert (tmp_path / "runs" / "plain" / "best.pt").exists()
    args = {"width": 4, "vel_width": 4, "deep": True}
    deep = _cfg(tmp_path, "deep", iterations=1, lr=1e-12, lr_min=0.0, model="cnn", model_args=args,
                init_from="plain.json#last")
    fit(deep, device="cpu", progress=False)
    a, b = build_model("cnn", plain["model_args"]), build_model("cnn", args)
    a.load_state_dict(_state(tmp_path / "runs" / "plain" / "last.pt"))
    b.load_state_dict(_state(tmp_path / "runs" / "deep" / "last.pt"))
    x = (torch.rand(1, 41, 16, 24) < 0.3).float()
    with torch.no_grad():
        torch.testing.assert_close(b(x)[0], a(x)[0], atol=1e-5, rtol=1e-5)
    with pytest.raises(CheckpointError, match="do not fit"):  # and not the other way round
        fit(_cfg(tmp_path, "back", iterations=1, init_from="deep.json", **plain), device="cpu", progress=False)


def test_weight_average_over_checkpoints_survives_a_resume(tmp_path):
    _fit(tmp_path, "a", iterations=2, average_from=2)
    at2 = _state(tmp_path / "a" / "last.pt")
    s = _fit(tmp_path, "a", iterations=3, average_from=2)  # resumes: the average goes on
    at3 = _state(tmp_path / "a" / "last.pt")
    assert s["average"]["average_of"] == 2 and s["average"]["first"] == 2
    ck = load_checkpoint(tmp_path / "a" / "average.pt", task="recon")
    assert ck.meta["metrics"]["averaged_iterations"] == [2, 3] and ck.model == "snn"
    moved = 0
    for k, v in ck.state.items():
        if v.is_floating_point():
            torch.testing.assert_close(v, (at2[k] + at3[k]) / 2)
            moved += int(not torch.equal(at2[k], at3[k]))
        else:
            assert torch.equal(v, at3[k])  # batch counters: the last model's
    assert moved > 0  # the two checkpoints differ, so the test can tell an average from either
    from spikevision.recon.learned import load_model

    assert load_model("snn", str(tmp_path / "a" / "average.pt")) is not None  # loads like best.pt
    _fit(tmp_path, "b", iterations=1)  # no average_from: no average
    assert not (tmp_path / "b" / "average.pt").exists()


def test_weight_average_alone():
    avg = WeightAverage()
    with pytest.raises(ValueError, match="no weights"):
        avg.average()
    net = torch.nn.BatchNorm1d(3)
    for i in (1.0, 3.0):
        net.weight.data.fill_(i)
        net.num_batches_tracked.fill_(int(i))
        avg.add(net, int(i))
    out = avg.average()
    assert torch.equal(out["weight"], torch.full((3,), 2.0)) and out["weight"].dtype == torch.float32
    assert int(out["num_batches_tracked"]) == 3 and avg.iterations == [1, 3]
    again = WeightAverage()
    again.load(avg.state())
    assert torch.equal(again.average()["weight"], out["weight"]) and again.count == 2


def test_time_budget_stops_and_checkpoints(tmp_path):
    s = _fit(tmp_path, "t", iterations=50, max_minutes=1e-6)
    assert s["iterations"] == 1 and load_checkpoint(tmp_path / "t" / "last.pt", task="recon").resume["iteration"] == 1


def test_folder_without_pairs_is_a_clear_error(tmp_path, monkeypatch):
    from spikevision.datasets import DatasetError

    monkeypatch.chdir(tmp_path)   # config paths are relative
    (tmp_path / "empty" / "spike").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no spike/\\*.dat files"):
        _fit(tmp_path, "x", iterations=1, sources=[{"kind": "reds", "path": "empty"}])


def test_cli_train_and_weights(tmp_path, reds_folders):
    """``train recon`` with CLI overrides on a REDS-style folder; ``reconstruct --weights`` loads what it wrote."""
    from click.testing import CliRunner

    from spikevision.cli.main import cli

    train, _ = reds_folders
    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps({**TINY, "model": "cnn", "model_args": {"width": 4, "vel_width": 4}, "threads": 2}))
    out = tmp_path / "run"
    args = ["train", "recon", "--config", str(cfg), "--out", str(out), "--iterations", "2", "--threads", "1",
            "--max-minutes", "30", "--data", f"{train}@2", "--data", "synthetic", "--device", "cpu", "-q"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    saved = json.loads((out / "config.json").read_text())
    assert (saved["threads"], saved["iterations"], saved["max_minutes"]) == (1, 2, 30.0)
    assert [s["kind"] for s in saved["sources"]] == ["auto", "synthetic"] and saved["sources"][0]["weight"] == 2.0
    assert json.loads(r.output.strip().splitlines()[-1])["iterations"] == 2
    png = tmp_path / "x.png"
    r = CliRunner().invoke(cli, ["reconstruct", str(train / "spike" / "t00.dat"), "-H", "48", "-W", "48", "--method",
                                 "cnn", "--weights", str(out / "best.pt"), "--at", "20", "-o", str(png), "-q"])
    assert r.exit_code == 0, r.output
    assert png.is_file()
    r = CliRunner().invoke(cli, ["reconstruct", str(train / "spike" / "t00.dat"), "-H", "48", "-W", "48", "--method",
                                 "tfp", "--weights", str(out / "best.pt"), "--at", "20", "-o", str(png)])
    assert r.exit_code != 0 and "no weights option" in r.output
    r = CliRunner().invoke(cli, args[:-3] + ["--device", "cuda:7"])
    assert r.exit_code != 0
    r = CliRunner().invoke(cli, args[:-3] + ["--data", str(tmp_path / "nope")])
    assert r.exit_code != 0 and "not a folder" in r.output
