"""CLI: live replay (JSON line, text summary), send + record over loopback, errors."""

import json
import threading
import time

import numpy as np
import pytest
from click.testing import CliRunner

from spikevision.cli.main import cli, main
from spikevision.io import write_dat


@pytest.fixture
def dat(tmp_path, make_frames):
    f = make_frames(4000, 25, 40, 0.2)
    return write_dat(tmp_path / "clip.dat", f), f


def test_replay_json_line(dat):
    p, f = dat
    res = CliRunner().invoke(cli, ["live", "replay", str(p), "--sensor", "25x40", "--speed", "max",
                                   "--preview", "tfp", "--preview-fps", "60", "--json"])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1
    d = json.loads(lines[0])
    assert list(d) == ["frames", "wall_s", "realtime_factor", "dropped", "previews", "latency_ms_p99"]
    assert d["frames"] == 4000 and d["dropped"] == 0 and d["previews"] == 12
    assert d["realtime_factor"] > 0


def test_replay_text_loop_and_other_methods(dat):
    p, _ = dat
    res = CliRunner().invoke(cli, ["live", "replay", str(p), "--sensor", "25x40", "--preview", "atfi",
                                   "--preview-fps", "100", "--loop", "--frames", "10000", "--hot-pixels"])
    assert res.exit_code == 0, res.output
    assert "frames       10000" in res.output and "previews     50 of 50" in res.output
    assert "hot pixels   0" in res.output
    res = CliRunner().invoke(cli, ["live", "replay", str(p), "--sensor", "25x40", "--preview", "none",
                                   "--speed", "10"])
    assert res.exit_code == 0 and "x real time" in res.output


def test_send_and_record(dat, tmp_path):
    p, f = dat
    out = tmp_path / "rec.dat"
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    result = {}
    t = threading.Thread(target=lambda: result.update(
        res=CliRunner().invoke(cli, ["live", "record", f"tcp://127.0.0.1:{port}", "-o", str(out),
                                     "--rotate", "0.1s"])))
    t.start()
    for _ in range(100):  # wait for the listener
        res = CliRunner().invoke(cli, ["live", "send", str(p), f"tcp://127.0.0.1:{port}", "--sensor", "25x40",
                                       "--speed", "max"])
        if res.exit_code == 0:
            break
        time.sleep(0.05)
    t.join(30)
    assert res.exit_code == 0, res.output
    rec = result["res"]
    assert rec.exit_code == 0, rec.output
    assert "recorded 4000 frames" in rec.output and "2 segment(s)" in rec.output
    segs = sorted(tmp_path.glob("rec_*.dat"))
    assert b"".join(x.read_bytes() for x in segs) == p.read_bytes()


def test_errors(dat, tmp_path, capsys):
    p, _ = dat
    r = CliRunner().invoke(cli, ["live", "replay", str(p)])  # no size, and random spikes: nothing to detect
    assert isinstance(r.exception, ValueError) and "--sensor HxW" in str(r.exception)  # `main` makes it exit 2
    r = CliRunner().invoke(cli, ["live", "replay", str(p), "--sensor", "25x40", "--speed", "fast"])
    assert r.exit_code == 2 and "speed" in r.output.lower()
    r = CliRunner().invoke(cli, ["live", "replay", str(p), "--sensor", "25x40", "--loop"])
    assert r.exit_code == 2 and "--frames" in r.output
    r = CliRunner().invoke(cli, ["live", "record", str(p), "-o", str(tmp_path / "x.dat")])
    assert r.exit_code == 2 and "tcp://" in r.output
    with pytest.raises(SystemExit) as e:
        main(["live", "replay", str(p), "--sensor", "25x40", "--preview", "nope"])
    assert e.value.code == 2 and "unknown reconstruction method" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["live", "record", "tcp://127.0.0.1:0", "-o", str(tmp_path / "x.dat"), "--rotate", "ten"])
    assert e.value.code == 2 and "rotation" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["live", "record", "tcp://127.0.0.1:0", "-o", str(tmp_path / "x.dat"), "--accept-timeout", "0.2"])
    assert e.value.code == 2 and "no sender" in capsys.readouterr().err
