import json

import numpy as np
import pytest
from PIL import Image

from spikevision.cli.main import main
from spikevision.weights import registry


def _run(capsys, args):
    try:
        main(args)
        code = 0
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help(capsys):
    for args in (["comm", "--help"], ["comm", "eval", "--help"], ["comm", "send", "--help"], ["train", "comm", "--help"]):
        code, out, _ = _run(capsys, args)
        assert code == 0 and "Usage" in out


def test_eval_json_and_plot(tmp_path, capsys):
    yy, xx = np.mgrid[0:32, 0:48]
    Image.fromarray((127 + 100 * np.sin(xx / 4)).astype(np.uint8)).save(tmp_path / "a.png")
    plot = tmp_path / "p.png"
    code, out, err = _run(capsys, ["comm", "eval", "--data", str(tmp_path), "--snr", "0,20", "--methods",
                                   "separate_ideal", "--json", "--plot", str(plot)])
    assert code == 0, err
    rows = json.loads(out)["results"]
    assert [r["snr_db"] for r in rows] == [0, 20] and rows[0]["method"] == "separate_ideal"
    assert rows[1]["psnr"] >= rows[0]["psnr"]
    assert plot.is_file() and Image.open(plot).size[0] > 100


def test_eval_bad_input(tmp_path, capsys):
    code, _, err = _run(capsys, ["comm", "eval", "--data", str(tmp_path), "--snr", "5:0:1"])
    assert code == 2 and "error" in err


@pytest.mark.skipif("comm_snn_bw32" not in registry(), reason="spiking JSCC weights not shipped yet")
def test_send_writes_image(tmp_path, capsys):
    from spikevision.io.dat import write_dat

    rng = np.random.default_rng(0)
    write_dat(tmp_path / "x.dat", (rng.random((60, 40, 64)) < 0.3).astype(np.uint8))
    out = tmp_path / "rx.png"
    code, _, err = _run(capsys, ["comm", "send", str(tmp_path / "x.dat"), "--t", "30", "--snr", "0", "-H", "40", "-W", "64",
                                 "--out", str(out)])
    assert code == 0, err
    assert Image.open(out).size == (64, 40)
    code, _, err = _run(capsys, ["comm", "send", str(tmp_path / "x.dat"), "--t", "5", "--snr", "0", "-H", "40", "-W", "64",
                                 "--out", str(out)])
    assert code == 2
