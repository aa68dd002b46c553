"""The .dat format: bit order, row order, odd sizes, round trips, errors, laziness."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from spikevision import DatWriter, SpikeFormatError, read_dat, write_dat
from spikevision.io.dat import SENSORS, frame_bytes, pack_frames, resolve_size, unpack_frames


def naive_encode(frames):
    """Reference encoder written from the format's definition, one pixel at a time."""
    t, h, w = frames.shape
    out = bytearray()
    for f in frames:
        buf = bytearray(frame_bytes(h, w))
        for r_file in range(h):
            r = h - 1 - r_file  # rows stored bottom-to-top
            for c in range(w):
                if f[r, c]:
                    p = r_file * w + c
                    buf[p // 8] |= 1 << (p % 8)  # least significant bit first
        out += buf
    return bytes(out)


def test_layout_known_values():
    # One spike at the top-left pixel is the first pixel of the LAST stored row.
    f = np.zeros((1, 2, 8), np.uint8)
    f[0, 0, 0] = 1
    assert pack_frames(f).tobytes() == bytes([0, 1])
    f = np.zeros((1, 2, 8), np.uint8)
    f[0, 1, 2] = 1  # bottom row, column 2 -> byte 0, bit 2
    assert pack_frames(f).tobytes() == bytes([4, 0])
    assert pack_frames(f, upright=True).tobytes() == bytes([0, 4])


@pytest.mark.parametrize("shape", [(3, 4, 8), (2, 5, 7), (3, 3, 3), (1, 1, 1)])
def test_pack_matches_naive_reference(rng, shape):
    a = (rng.random(shape) < 0.5).astype(np.uint8)
    assert pack_frames(a).tobytes() == naive_encode(a)
    back = unpack_frames(pack_frames(a), shape[1], shape[2])
    assert np.array_equal(back, a) and back.flags["C_CONTIGUOUS"]


@pytest.mark.parametrize("hw", [(250, 400), (1000, 1000), (37, 29), (5, 13)])
def test_bit_exact_round_trip(tmp_path, rng, hw):
    h, w = hw
    t = 3 if h * w > 100000 else 17
    raw = rng.integers(0, 256, size=(t, frame_bytes(h, w)), dtype=np.uint8)
    pad = frame_bytes(h, w) * 8 - h * w
    if pad:
        raw[:, -1] &= 0xFF >> pad  # the format's rule: padding bits are zero
    src = tmp_path / "in.dat"
    raw.tofile(src)
    s = read_dat(src, height=h, width=w)
    assert s.shape == (t, h, w)
    out = write_dat(tmp_path / "out.dat", s)
    assert out.read_bytes() == src.read_bytes()
    # decode -> re-encode from an in-memory copy is byte-exact too
    write_dat(tmp_path / "out2.dat", np.asarray(s))
    assert (tmp_path / "out2.dat").read_bytes() == src.read_bytes()
    assert np.array_equal(np.asarray(read_dat(tmp_path / "out2.dat", height=h, width=w)), np.asarray(s))


def test_padding_bits_are_not_spikes(tmp_path):
    raw = np.full((2, frame_bytes(3, 3)), 0xFF, np.uint8)  # 9 px -> 2 bytes, 7 padding bits set
    (tmp_path / "p.dat").write_bytes(raw.tobytes())
    s = read_dat(tmp_path / "p.dat", height=3, width=3)
    assert np.asarray(s).sum() == 18
    assert s.spike_counts().tolist() == [9, 9]


def test_upright_option(tmp_path, rng):
    a = (rng.random((4, 6, 16)) < 0.5).astype(np.uint8)
    write_dat(tmp_path / "u.dat", a, upright=True)
    assert np.array_equal(np.asarray(read_dat(tmp_path / "u.dat", height=6, width=16, upright=True)), a)
    flipped = np.asarray(read_dat(tmp_path / "u.dat", height=6, width=16))
    assert np.array_equal(flipped, a[:, ::-1])


def test_counts_without_unpacking_match(tmp_path, rng):
    for h, w in [(250, 400), (7, 9), (4, 6)]:
        a = (rng.random((20, h, w)) < 0.2).astype(np.uint8)
        write_dat(tmp_path / "c.dat", a)
        s = read_dat(tmp_path / "c.dat", height=h, width=w)
        assert np.array_equal(s.spike_counts(), a.reshape(20, -1).sum(1))
        assert s[5:12].spike_counts().tolist() == a[5:12].reshape(7, -1).sum(1).tolist()


def test_sensor_names(tmp_path):
    assert resolve_size(sensor="vidar") == (250, 400) == SENSORS["250x400"]
    assert resolve_size(sensor="64x32") == (64, 32)
    with pytest.raises(ValueError, match="unknown sensor"):
        resolve_size(sensor="nope")
    with pytest.raises(ValueError, match="not both"):
        resolve_size(10, 10, "vidar")
    with pytest.raises(ValueError, match="does not store its frame size"):
        resolve_size(None, 10)


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_dat(tmp_path / "missing.dat", height=4, width=8)
    (tmp_path / "empty.dat").write_bytes(b"")
    with pytest.raises(SpikeFormatError, match="empty"):
        read_dat(tmp_path / "empty.dat", height=4, width=8)
    (tmp_path / "odd.dat").write_bytes(b"\0" * 10)
    with pytest.raises(SpikeFormatError, match=r"10 bytes.*4 bytes.*2 whole frames \+ 2 bytes"):
        read_dat(tmp_path / "odd.dat", height=4, width=8)
    s = read_dat(tmp_path / "odd.dat", height=4, width=8, drop_partial=True)
    assert len(s) == 2
    with pytest.raises(SpikeFormatError, match="less than one"):
        read_dat(tmp_path / "odd.dat", height=10, width=10, drop_partial=True)
    with pytest.raises(ValueError):
        read_dat(tmp_path / "odd.dat", height=0, width=8)
    with pytest.raises(TypeError):
        read_dat(tmp_path / "odd.dat", height=4.5, width=8)
    with pytest.raises(ValueError):
        read_dat(tmp_path, height=4, width=8)  # a folder
    with pytest.raises(SpikeFormatError, match="empty"):
        write_dat(tmp_path / "e.dat", np.zeros((0, 4, 8), np.uint8))
    with pytest.raises(TypeError):
        write_dat(tmp_path / "f.dat", np.ones((2, 4, 8), np.float32))
    with pytest.raises(SpikeFormatError, match="0 and 1"):
        write_dat(tmp_path / "f.dat", np.full((2, 4, 8), 3, np.uint8))
    assert not (tmp_path / "e.dat").exists() and not (tmp_path / "f.dat").exists()
    with pytest.raises(FileNotFoundError, match="output folder"):
        write_dat(tmp_path / "no" / "x.dat", np.ones((1, 2, 8), np.uint8))


def test_write_is_atomic_on_interrupt(tmp_path, rng):
    """A failure half-way through a write leaves neither a partial target nor a temp file."""
    good = tmp_path / "out.dat"
    write_dat(good, np.ones((2, 4, 8), np.uint8))
    before = good.read_bytes()

    class Boom(SpikeFormatError):
        pass

    class Exploding:
        """A frame source that fails after the first chunk."""

        height, width = 4, 8

        def __len__(self):
            return 3000

        def decode(self, a, b):
            if a >= 1024:
                raise Boom("disk on fire")
            return np.ones((b - a, 4, 8), np.uint8)

        def counts(self, a, b):
            return np.full(b - a, 32)

        def close(self):
            pass

    from spikevision import SpikeStream

    with pytest.raises(Boom):
        write_dat(good, SpikeStream(Exploding()))
    assert good.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.dat"]


def test_write_atomic_when_killed(tmp_path):
    """Kill a writer process mid-write: the target never appears half-written."""
    target = tmp_path / "big.dat"
    code = textwrap.dedent(
        f"""
        import numpy as np, os, signal
        from spikevision import DatWriter
        with DatWriter({str(target)!r}, height=64, width=64) as w:
            w.write(np.ones((100, 64, 64), np.uint8))
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code])
    assert proc.returncode != 0
    assert not target.exists()


def test_dat_writer(tmp_path, rng):
    a = (rng.random((30, 5, 7)) < 0.5).astype(np.uint8)
    with DatWriter(tmp_path / "w.dat", height=5, width=7) as w:
        for i in range(0, 30, 8):
            w.write(a[i : i + 8])
    assert w.n_frames == 30
    assert np.array_equal(np.asarray(read_dat(tmp_path / "w.dat", height=5, width=7)), a)
    with pytest.raises(SpikeFormatError, match=r"\(n, 5, 7\)"):
        with DatWriter(tmp_path / "bad.dat", height=5, width=7) as w:
            w.write(np.zeros((2, 5, 8), np.uint8))
    assert not (tmp_path / "bad.dat").exists()
    with pytest.raises(SpikeFormatError, match="no frames"):
        with DatWriter(tmp_path / "none.dat", height=5, width=7):
            pass
    assert not (tmp_path / "none.dat").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["w.dat"]


def test_window_reads_only_the_window(tmp_path):
    """Reading 100 frames of a ~200 MB file keeps peak RSS far below the file size."""
    if not os.path.exists("/proc/self/status"):
        pytest.skip("needs Linux /proc to read the peak RSS")
    path = tmp_path / "long.dat"
    h, w, t = 250, 400, 16000  # 200 MB
    with open(path, "wb") as fh:
        fh.truncate(t * frame_bytes(h, w))  # sparse file, reads as zeros
    code = textwrap.dedent(
        f"""
        import numpy as np
        from spikevision import read_dat
        s = read_dat({str(path)!r}, height={h}, width={w})
        x = s.frames(9000, 9100)
        c = s[8000:8200].spike_counts()
        # VmHWM (peak RSS of this process image); ru_maxrss would include the forking parent's
        print([l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM")][0])
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    peak_mb = int(out.stdout.strip()) / 1024
    assert peak_mb < 150, f"peak RSS {peak_mb:.0f} MB for a 100-frame window of a 200 MB file"


def test_reds_sample_orientation(reds_sample_dir):
    """MANIFEST facts: 301 frames, 41-frame mean around 150 /0.6 scores ~23.5 dB; unflipped collapses."""
    for dat in sorted((reds_sample_dir / "spike").glob("*.dat")):
        gt = np.asarray(Image.open(reds_sample_dir / "gt" / (dat.stem + ".png")), np.float64) / 255
        s = read_dat(dat, sensor="vidar")
        assert s.shape == (301, 250, 400)
        img = np.clip(s.window(150, 41).mean(0) / 0.6, 0, 1)
        psnr = 10 * np.log10(1 / np.mean((img - gt) ** 2))
        assert psnr == pytest.approx(23.5, abs=0.3)
        wrong = np.clip(read_dat(dat, sensor="vidar", upright=True).window(150, 41).mean(0) / 0.6, 0, 1)
        assert 10 * np.log10(1 / np.mean((wrong - gt) ** 2)) < psnr - 5
