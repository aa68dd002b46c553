import pytest

from spikevision.io.atomic import atomic_open, atomic_path


def test_atomic_open_replaces_only_on_success(tmp_path):
    p = tmp_path / "f.bin"
    with atomic_open(p) as fh:
        fh.write(b"one")
    assert p.read_bytes() == b"one"
    with pytest.raises(RuntimeError):
        with atomic_open(p) as fh:
            fh.write(b"two-partial")
            raise RuntimeError("interrupted")
    assert p.read_bytes() == b"one"
    assert [x.name for x in tmp_path.iterdir()] == ["f.bin"]


def test_atomic_path_and_errors(tmp_path):
    with atomic_path(tmp_path / "a.txt") as tmp:
        assert tmp.parent == tmp_path and tmp.name != "a.txt"
        tmp.write_text("hi")
    assert (tmp_path / "a.txt").read_text() == "hi"
    with pytest.raises(FileNotFoundError):
        with atomic_path(tmp_path / "missing" / "a.txt"):
            pass
    with pytest.raises(ValueError):
        with atomic_open(tmp_path / "a.txt", "rb"):
            pass


def test_sigterm_in_the_cli_removes_the_temporary_file(tmp_path):
    """A write interrupted by SIGTERM (``kill``) under the CLI's handler leaves neither target nor temporary file."""
    import subprocess
    import sys
    import textwrap

    target = tmp_path / "out.bin"
    code = textwrap.dedent(f"""
        import os, signal, time
        from spikevision.cli.main import terminate_as_exit
        from spikevision.io.atomic import atomic_open
        with terminate_as_exit():
            with atomic_open({str(target)!r}) as fh:
                fh.write(b"partial")
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(30)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert r.returncode == 128 + 15, r.stderr
    assert list(tmp_path.iterdir()) == []


def test_terminate_as_exit_restores_the_handler():
    import signal

    from spikevision.cli.main import terminate_as_exit

    before = signal.getsignal(signal.SIGTERM)
    with terminate_as_exit():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before
