"""The one config loader: every shipped config loads; unknown keys and wrong types name the file and the field."""

import json
import re
from pathlib import Path

import pytest

from spikevision.learned import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]


def _write(tmp_path, obj, name="c.json"):
    p = tmp_path / name
    p.write_text(json.dumps(obj))
    return p


@pytest.mark.parametrize("path", sorted(str(p.relative_to(REPO)) for p in (REPO / "configs").glob("*/*.json")))
def test_every_shipped_config_loads(path):
    cfg = load_config(REPO / path)
    assert cfg.task == Path(path).parent.name and cfg.name == Path(path).stem


def test_unknown_keys_and_wrong_types_name_file_and_field(tmp_path):
    p = _write(tmp_path, {"task": "recon", "iteratons": 3})
    with pytest.raises(ConfigError, match=re.escape(f"{p}: unknown key iteratons")):
        load_config(p)
    with pytest.raises(ConfigError, match=re.escape(f"{p}: data.patch: expected int, got '64'")):
        load_config(_write(tmp_path, {"task": "recon", "data": {"patch": "64"}}))
    with pytest.raises(ConfigError, match="unknown key data.patchsize"):
        load_config(_write(tmp_path, {"task": "recon", "data": {"patchsize": 3}}))
    with pytest.raises(ConfigError, match="iterations: expected int, got True"):
        load_config(_write(tmp_path, {"task": "flow", "iterations": True}))
    with pytest.raises(ConfigError, match="still_gate: expected true or false, got 'yes'"):
        load_config(_write(tmp_path, {"task": "flow", "still_gate": "yes"}))
    with pytest.raises(ConfigError, match="amp: expected one of"):
        load_config(_write(tmp_path, {"task": "flow", "amp": "fp8"}))
    with pytest.raises(ConfigError, match=r"scene: gain_range must be"):
        load_config(_write(tmp_path, {"task": "flow", "scene": {"gain_range": [2, 1]}}))
    with pytest.raises(ConfigError, match="kinds must be drawn from"):
        load_config(_write(tmp_path, {"task": "comm", "kinds": ["snn", "lstm"]}))
    with pytest.raises(ConfigError, match="task: missing"):
        load_config(_write(tmp_path, {"iterations": 3}))
    with pytest.raises(ConfigError, match="task: unknown task 'gan'"):
        load_config(_write(tmp_path, {"task": "gan"}))
    with pytest.raises(ConfigError, match="not a 'flow' one"):
        load_config(_write(tmp_path, {"task": "recon"}), task="flow")
    with pytest.raises(ConfigError, match="sources\\[0\\].path: must be relative"):
        load_config(_write(tmp_path, {"task": "recon", "sources": [{"kind": "reds", "path": "/data/reds"}]}))
    with pytest.raises(ConfigError, match="batch: must be >= 1"):
        load_config(_write(tmp_path, {"task": "recon", "batch": 0}))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(tmp_path / "bad.json")
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "absent.json")


def test_overrides_defaults_and_toml(tmp_path):
    cfg = load_config(None, task="flow", overrides={"iterations": 7, "seed": None})
    assert cfg.iterations == 7 and cfg.seed == 0 and cfg.settings.dts == (10, 20) and cfg.name == "flow"
    with pytest.raises(ConfigError, match="iterations: expected int"):
        load_config(None, task="flow", overrides={"iterations": 2.5})
    t = tmp_path / "x.toml"
    t.write_text('task = "comm"\niterations = 5\nsnr_range = [0.0, 10]\n[data]\npatch = 32\n')
    cfg = load_config(t)
    assert cfg.settings.snr_range == (0.0, 10.0) and cfg.settings.data.patch == 32 and cfg.name == "x"


def test_no_machine_paths_one_torch_load_no_unsafe_load():
    """No absolute machine path in configs/ or src/; one module of src calls torch.load; weights_only=False nowhere."""
    texts = {p: p.read_text() for p in [*(REPO / "configs").rglob("*.json"), *(REPO / "src").rglob("*.py")]}
    machine = re.compile(r"""["'](/work|/home|/tmp|/Users|/data|/mnt)[/"']""")
    assert not [str(p) for p, t in texts.items() if machine.search(t)]
    loads = [p.relative_to(REPO).as_posix() for p, t in texts.items() if p.suffix == ".py" and "torch.load(" in t]
    assert loads == ["src/spikevision/learned/checkpoint.py"]
    assert not [p for p, t in texts.items() if "weights_only=" + "False" in t]
