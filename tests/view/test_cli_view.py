"""``spikevision view``: options, refusal of bad input, and the token gate off loopback."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from spikevision.cli.main import cli
from spikevision.view import is_loopback
from spikevision.view.server import viewer_url

SRC = Path(__file__).resolve().parents[2] / "src"


def test_registered_and_help():
    r = CliRunner().invoke(cli, ["view", "--help"])
    assert r.exit_code == 0 and "--host" in r.output and "--token" in r.output and "--export-dir" in r.output


def test_dat_without_size_is_a_usage_error(dat_file):
    r = CliRunner().invoke(cli, ["view", str(dat_file), "--no-browser"])
    assert r.exit_code == 2 and "--sensor" in r.output


def test_missing_path_and_short_token(dat_file, tmp_path):
    assert CliRunner().invoke(cli, ["view", str(tmp_path / "nope.dat")]).exit_code == 2
    r = CliRunner().invoke(cli, ["view", str(dat_file), "-H", "24", "-W", "32", "--no-browser", "--token", "short"])
    assert r.exit_code != 0 and "16 characters" in str(r.exception)


def test_is_loopback_and_url():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("127.1.2.3")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")
    assert viewer_url("0.0.0.0", 80, "abc") == "http://127.0.0.1:80/?token=abc"
    assert viewer_url("::1", 81, None) == "http://[::1]:81/"


def _start(args: list[str]) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "spikevision.cli.main", "view", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.time() + 60
    line = ""
    while time.time() < deadline:
        line = proc.stdout.readline()
        if line.startswith("spikevision view: "):
            return proc, line.split(": ", 1)[1].strip()
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"the viewer did not start: {line!r}")


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


needs_server = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("starlette", "uvicorn", "cv2")),
    reason="serving needs the 'view' extra (starlette, uvicorn, vision)")


@needs_server
def test_any_host_without_token_serves_nothing(dat_file, tmp_path):
    proc, url = _start([str(dat_file), "-H", "24", "-W", "32", "--host", "0.0.0.0", "--port", "0", "--no-browser",
                        "--export-dir", str(tmp_path / "ex")])
    try:
        assert "?token=" in url
        base, token = url.split("?token=")
        for path in ("", "static/app.js", "api/info", "api/frame?t=3", "api/rate"):
            status, body = _get(base + path)
            assert status == 401, path
            assert "token" in json.loads(body)["error"]
        status, body = _get(f"{base}api/info?token={token}")
        assert status == 200 and json.loads(body)["frames"] == 120
        assert _get(url)[0] == 200
    finally:
        proc.terminate()
        proc.wait(10)


@needs_server
def test_loopback_default(dat_file):
    proc, url = _start([str(dat_file), "-H", "24", "-W", "32", "--port", "0", "--no-browser", "--no-export"])
    try:
        assert url.startswith("http://127.0.0.1:") and "token" not in url
        status, body = _get(url + "api/files")
        assert status == 200 and json.loads(body)["exports"] is False
    finally:
        proc.terminate()
        proc.wait(10)
