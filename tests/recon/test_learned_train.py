"""Training loop of the learned reconstructors: runs, logs, checkpoints, resumes, starts from other weights."""

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("spikingjelly")

from spikevision.recon.learned.train import build_model, load_config, train  # noqa: E402

TINY = {"model": "snn", "model_args": {"width": 4, "group": 7, "smooth_base": True}, "batch": 2, "val_samples": 2,
        "log_every": 1, "val_every": 2, "checkpoint_every": 1, "threads": 1, "warmup": 1,
        "data": {"patch": 24, "procedural": 2}}


def _run(tmp_path, name, **over):
    p = tmp_path / f"{name}.json"
    p.write_text(json.dumps({**TINY, "out_dir": str(tmp_path / name), **over}))
    return load_config(p)


def test_train_resume_and_widen(tmp_path):
    s = train(_run(tmp_path, "a", iterations=2), progress=False)
    assert s["iterations"] == 2 and (tmp_path / "a" / "best.pt").exists()
    s = train(_run(tmp_path, "a", iterations=3), progress=False)  # resumes at 2
    log = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert s["iterations"] == 3 and [r["iteration"] for r in log] == [1, 2, 3] and "val_psnr" in log[1]
    # a wider SNN starts from the narrow one's weights and computes the same images (lr 0: nothing moves)
    wide = _run(tmp_path, "b", iterations=1, lr=0.0, lr_min=0.0, init_from=str(tmp_path / "a" / "best.pt"),
                model_args={**TINY["model_args"], "width": 6})
    train(wide, progress=False)
    narrow = build_model("snn", TINY["model_args"])
    narrow.load_state_dict(torch.load(tmp_path / "a" / "best.pt", weights_only=False)["model"])
    widened = build_model("snn", wide.model_args)
    widened.load_state_dict(torch.load(tmp_path / "b" / "last.pt", weights_only=False)["model"])
    x = (torch.rand(1, 41, 16, 20) < 0.3).float()
    narrow.eval(), widened.eval()
    with torch.no_grad():
        torch.testing.assert_close(widened(x), narrow(x), atol=1e-5, rtol=1e-5)


def test_same_width_start_from_bare_weights(tmp_path):
    train(_run(tmp_path, "a", iterations=1), progress=False)
    bare = {"model": torch.load(tmp_path / "a" / "last.pt", weights_only=False)["model"]}  # no model_args
    torch.save(bare, tmp_path / "bare.pt")
    train(_run(tmp_path, "b", iterations=1, lr=0.0, lr_min=0.0, init_from=str(tmp_path / "bare.pt")), progress=False)
    got = torch.load(tmp_path / "b" / "last.pt", weights_only=False)["model"]
    assert all(torch.equal(got[k], v) for k, v in bare["model"].items() if "num_batches" not in k and "running" not in k)


def test_bad_starts_are_clear_errors(tmp_path):
    train(_run(tmp_path, "a", iterations=1), progress=False)
    with pytest.raises(ValueError, match="different model"):  # another model left in the same out_dir
        train(_run(tmp_path, "a", iterations=2, model_args={**TINY["model_args"], "width": 5}), progress=False)
    with pytest.raises(ValueError, match="more than the width, the inputs and the fourth level"):
        train(_run(tmp_path, "c", iterations=1, init_from=str(tmp_path / "a" / "best.pt"),
                   model_args={**TINY["model_args"], "width": 6, "group": 5}), progress=False)
    with pytest.raises(ValueError, match="not a readable SNN checkpoint"):
        (tmp_path / "junk.pt").write_bytes(b"junk")
        train(_run(tmp_path, "d", iterations=1, init_from=str(tmp_path / "junk.pt")), progress=False)
    with pytest.raises(FileNotFoundError, match="not found"):
        train(_run(tmp_path, "e", iterations=1, init_from=str(tmp_path / "absent.pt")), progress=False)
    with pytest.raises(ValueError, match="unknown config keys"):
        load_config(None, iteratoins=3)


@pytest.mark.parametrize("deep", [False, True])
def test_wider_with_more_inputs_from_narrow_group_weights(tmp_path, deep):
    train(_run(tmp_path, "a", iterations=1), progress=False)
    args = {**TINY["model_args"], "width": 6, "full_window": True, "group_rates": True, "deep": deep}
    train(_run(tmp_path, "b", iterations=1, lr=0.0, lr_min=0.0, init_from=str(tmp_path / "a" / "best.pt"),
               model_args=args), progress=False)
    narrow = build_model("snn", TINY["model_args"])
    narrow.load_state_dict(torch.load(tmp_path / "a" / "best.pt", weights_only=False)["model"])
    grown = build_model("snn", args)
    grown.load_state_dict(torch.load(tmp_path / "b" / "last.pt", weights_only=False)["model"])
    x = (torch.rand(1, 41, 16, 24) < 0.3).float()  # multiples of 8: the same padding with and without the 1/8 level
    narrow.eval(), grown.eval()
    with torch.no_grad():
        torch.testing.assert_close(grown(x), narrow(x), atol=1e-5, rtol=1e-5)


def test_deep_cnn_starts_from_plain_cnn_weights(tmp_path):
    plain = _run(tmp_path, "a", iterations=1, model="cnn", model_args={"width": 4, "vel_width": 4})
    train(plain, progress=False)
    args = {"width": 4, "vel_width": 4, "deep": True}
    train(_run(tmp_path, "b", iterations=1, lr=0.0, lr_min=0.0, model="cnn", model_args=args,
               init_from=str(tmp_path / "a" / "best.pt")), progress=False)
    a, b = build_model("cnn", plain.model_args), build_model("cnn", args)
    a.load_state_dict(torch.load(tmp_path / "a" / "best.pt", weights_only=False)["model"])
    b.load_state_dict(torch.load(tmp_path / "b" / "last.pt", weights_only=False)["model"])
    x = (torch.rand(1, 41, 16, 24) < 0.3).float()
    with torch.no_grad():
        torch.testing.assert_close(b(x)[0], a(x)[0], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="do not fit"):  # and not the other way round
        train(_run(tmp_path, "c", iterations=1, model="cnn", model_args=plain.model_args,
                   init_from=str(tmp_path / "b" / "last.pt")), progress=False)
    with pytest.raises(ValueError, match="more than the width, the inputs and the fourth level"):  # an SNN neither
        train(_run(tmp_path, "d", iterations=1, model_args={**TINY["model_args"], "deep": True}), progress=False)
        train(_run(tmp_path, "e", iterations=1, model_args=TINY["model_args"],
                   init_from=str(tmp_path / "d" / "last.pt")), progress=False)


def test_cli_overrides_reach_the_run(tmp_path):
    from click.testing import CliRunner

    from spikevision.cli.main import cli

    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps({**TINY, "out_dir": str(tmp_path / "ignored"), "threads": 2}))
    out = tmp_path / "run"
    args = ["train", "recon", "--model", "snn", "--config", str(cfg), "--out-dir", str(out), "--iterations", "2",
            "--threads", "1", "--max-minutes", "30"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    saved = json.loads((out / "config.json").read_text())
    assert (saved["threads"], saved["iterations"], saved["max_minutes"]) == (1, 2, 30.0)
    assert json.loads(r.output.strip().splitlines()[-1])["iterations"] == 2
    assert torch.load(out / "last.pt", weights_only=False)["model_args"] == TINY["model_args"]  # last.pt loads alone
    assert not (tmp_path / "ignored").exists()
    r = CliRunner().invoke(cli, args[:-4] + ["--threads", "0"])
    assert r.exit_code != 0 and "--threads" in r.output


def test_weight_average_over_checkpoints_survives_a_resume(tmp_path):
    cfg = _run(tmp_path, "a", iterations=2, average_from=2)
    train(cfg, progress=False)
    at2 = torch.load(tmp_path / "a" / "last.pt", weights_only=False)["model"]
    s = train(_run(tmp_path, "a", iterations=3, average_from=2), progress=False)  # resumes: the average goes on
    at3 = torch.load(tmp_path / "a" / "last.pt", weights_only=False)["model"]
    assert s["average"]["average_of"] == 2 and (s["average"]["first"], s["average"]["last"]) == (2, 3)
    ck = torch.load(tmp_path / "a" / "average.pt", weights_only=False)
    assert ck["averaged_iterations"] == [2, 3] and ck["model_name"] == "snn" and ck["model_args"] == TINY["model_args"]
    moved = 0
    for k, v in ck["model"].items():
        if v.is_floating_point():
            torch.testing.assert_close(v, (at2[k] + at3[k]) / 2)
            moved += int(not torch.equal(at2[k], at3[k]))
        else:
            assert torch.equal(v, at3[k])  # batch counters: the last model's
    assert moved > 0  # the two checkpoints differ, so the test can tell an average from either
    log = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert log[-1]["average_of"] == 2 and "val_psnr" in log[-1]
    from spikevision.recon.learned import load_model

    assert load_model("snn", str(tmp_path / "a" / "average.pt")) is not None  # loads like best.pt
    assert not (tmp_path / "b" / "average.pt").exists()
    train(_run(tmp_path, "b", iterations=1), progress=False)  # no average_from: no average
    assert not (tmp_path / "b" / "average.pt").exists()


def test_weight_average_alone():
    from spikevision.training import WeightAverage

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


def test_export_from_average_needs_an_average(tmp_path):
    from click.testing import CliRunner

    from spikevision.cli.main import cli

    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps({**TINY, "out_dir": str(tmp_path / "run"), "iterations": 1}))
    r = CliRunner().invoke(cli, ["train", "recon", "--model", "snn", "--config", str(cfg), "--export", "x",
                                 "--export-from", "average"])
    assert r.exit_code == 2 and "average_from" in r.output and not (tmp_path / "run").exists()
