"""Self-describing HDF5 container for spike data (``.h5``; needs the ``h5`` extra).

Why HDF5 (h5py): one portable file that MATLAB, HDFView, C and Julia read
without spikevision, chunked random access, built-in compression, and a
format stable for decades. zarr reads windows a little faster but stores a
directory of files (or a zip) and is less widely readable.

Layout (format version 2)
-------------------------
* dataset ``/spikes``: ``uint8`` ``(T, frame_bytes)``, each row one frame packed
  exactly as in a ``.dat`` file (see :mod:`spikevision.io.dat`), chunked by
  ``chunk_frames`` frames, compressed (gzip by default) and checksummed per
  chunk with HDF5's Fletcher-32 filter.
* attributes of ``/spikes``: ``format = "spikevision.spikes"``,
  ``format_version = 2``, ``height``, ``width``, ``rate_hz``,
  ``rows = "bottom-up" | "top-down"`` (storage order of rows),
  ``bitorder = "little"``, ``first_frame``, ``attrs_json`` (the stream's
  free-form attributes as JSON) and ``meta_sha256``: the SHA-256 of the other
  attributes plus the dataset's shape, chunk shape and filters, as canonical
  JSON (:func:`metadata_digest`).
* the file is written with HDF5's 1.10 file format (``libver="v110"``), whose
  superblock, object headers and chunk indexes carry their own checksums.

Version 1 files (no Fletcher-32, no ``meta_sha256``, HDF5 1.8 format) are
still read; their frames are only protected by gzip's own check. Convert one
with ``spikevision convert old.h5 new.h5`` to add the checksums.

Guarded reading
---------------
HDF5's C library can crash (``SIGSEGV``) or loop for minutes on a corrupt
file, inside calls that Python cannot interrupt. :func:`read_h5` therefore
first opens an untrusted file in a child process (``fork``; a time-out while
other threads run is confirmed in a fresh interpreter) with a time limit (:data:`PROBE_TIMEOUT_ENV`, default
20 s): the child walks the structure, reads every attribute and the whole chunk
index, and reports them. Only a file whose probe finished cleanly, and that
has not changed since, is opened in-process; its attributes come from the
probe. The parent waits in Python, so ``SIGTERM`` and Ctrl-C are honoured
while a probe runs. Measurements and the alternatives considered:
``docs/robustness.md``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import SpikeFormatError, check_binary_array, check_existing_file, check_positive_float, check_positive_int
from ..stream import SpikeStream
from .atomic import atomic_path
from .dat import PackedSource, _packed_chunks, _progress, frame_bytes, unwrap_source

__all__ = ["write_h5", "read_h5", "probe_h5", "metadata_digest", "FORMAT_NAME", "FORMAT_VERSION",
           "PROBE_TIMEOUT_ENV"]

FORMAT_NAME = "spikevision.spikes"
FORMAT_VERSION = 2
#: Environment variable with the time limit (seconds) of the guarded probe of an ``.h5`` file.
PROBE_TIMEOUT_ENV = "SPIKEVISION_H5_PROBE_TIMEOUT"
_DEFAULT_PROBE_TIMEOUT = 20.0
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_ATTR_TYPES = {
    "format": str, "format_version": int, "height": int, "width": int, "rate_hz": float, "rows": str,
    "bitorder": str, "first_frame": int, "attrs_json": str, "meta_sha256": str,
}
_REQUIRED_V1 = ("format", "format_version", "height", "width", "rate_hz", "rows", "bitorder")


def _h5py() -> Any:
    try:
        import h5py
    except ImportError as exc:
        raise ImportError("the HDF5 container needs h5py: pip install 'spikevision[h5]'") from exc
    return h5py


def _stored_upright(stream: SpikeStream) -> bool:
    src, _ = unwrap_source(stream)
    return src.upright if isinstance(src, PackedSource) else True


def metadata_digest(attrs: dict[str, Any], layout: dict[str, Any]) -> str:
    """SHA-256 (hex) of the container's attributes (without ``meta_sha256``) and dataset layout.

    ``layout`` holds ``shape``, ``chunks``, ``compression`` and ``fletcher32``
    of ``/spikes``. The digest is taken over canonical JSON (sorted keys, no
    spaces), so any reader can recompute it.
    """
    body = {"attrs": {k: v for k, v in attrs.items() if k != "meta_sha256"}, "layout": layout}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def write_h5(
    path: str | os.PathLike,
    data: Any,
    *,
    compression: str | None = "gzip",
    chunk_frames: int = 64,
    progress: bool = False,
) -> Path:
    """Write a stream (or ``(T, H, W)`` 0/1 array) to an HDF5 container, atomically.

    Frames are stored packed, chunked by ``chunk_frames``, compressed with
    ``compression`` (``"gzip"``, ``"lzf"`` or ``None``) and checksummed per
    chunk (Fletcher-32); the metadata carries a SHA-256 (see the module
    docstring). Returns the path.

    >>> write_h5("clip.h5", np.zeros((10, 4, 6), np.uint8))  # doctest: +SKIP
    """
    h5py = _h5py()
    stream = data if isinstance(data, SpikeStream) else SpikeStream(check_binary_array(data))
    if stream.n_frames == 0:
        raise SpikeFormatError("refusing to write an empty container: the stream has 0 frames")
    chunk_frames = check_positive_int(chunk_frames, "chunk_frames")
    if compression not in ("gzip", "lzf", None):
        raise ValueError(f"compression must be 'gzip', 'lzf' or None, got {compression!r}")
    upright = _stored_upright(stream)
    nb = frame_bytes(stream.height, stream.width)
    chunks = (min(chunk_frames, stream.n_frames), nb)
    attrs = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "height": int(stream.height),
        "width": int(stream.width),
        "rate_hz": float(stream.rate_hz),
        "rows": "top-down" if upright else "bottom-up",
        "bitorder": "little",
        "first_frame": int(stream.first_frame),
        "attrs_json": json.dumps(dict(stream.attrs), default=str),
    }
    layout = {"shape": [stream.n_frames, nb], "chunks": list(chunks), "compression": compression, "fletcher32": True}
    attrs["meta_sha256"] = metadata_digest(attrs, layout)
    out = Path(path)
    bar = _progress(stream.n_frames, f"writing {out.name}", progress)
    with atomic_path(out) as tmp:
        with h5py.File(tmp, "w", libver=("v110", "v110")) as f:
            ds = f.create_dataset("spikes", shape=(stream.n_frames, nb), dtype=np.uint8, chunks=chunks,
                                  compression=compression, fletcher32=True)
            i = 0
            for packed in _packed_chunks(stream, upright, max(chunk_frames, 1024)):
                ds[i : i + len(packed)] = packed
                i += len(packed)
                bar.update(len(packed))
            ds.attrs.update(attrs)
    bar.close()
    return out


# --------------------------------------------------------------------------- probe (runs in a child)
def _jsonable_attr(v: Any) -> Any:
    """An attribute value as ``[type, value]`` with its type kept (so 7.9 is not mistaken for 7)."""
    if isinstance(v, bytes):
        return ["bytes", v.decode("utf-8", "replace")]
    if isinstance(v, str):
        return ["str", v]
    if isinstance(v, (bool, np.bool_)):
        return ["bool", bool(v)]
    if isinstance(v, (int, np.integer)):
        return ["int", int(v)]
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return ["float", f if math.isfinite(f) else repr(f)]
    a = np.asarray(v)
    return ["array", f"{a.dtype} {a.shape}"]


def _probe_in_child(path: str) -> dict[str, Any]:
    """Open ``path`` with h5py and describe ``/spikes`` (attributes, layout, chunk index)."""
    import h5py

    with h5py.File(path, "r") as f:
        link = f.get("spikes", getlink=True)
        if link is None:
            return {"error": f"has no '/spikes' dataset (top-level names: {sorted(f.keys())[:10]})"}
        if not isinstance(link, h5py.HardLink):
            return {"error": f"'/spikes' is a {type(link).__name__}, not a dataset stored in the file"}
        ds = f["spikes"]
        if not isinstance(ds, h5py.Dataset):
            return {"error": f"'/spikes' is a {type(ds).__name__}, not a dataset"}
        attrs = {}
        for k in list(ds.attrs.keys())[:64]:
            attrs[k] = _jsonable_attr(ds.attrs[k])
        out: dict[str, Any] = {
            "attrs": attrs, "shape": [int(x) for x in ds.shape], "dtype": ds.dtype.str,
            "chunks": None if ds.chunks is None else [int(x) for x in ds.chunks],
            "compression": ds.compression, "fletcher32": bool(ds.fletcher32),
        }
        if ds.chunks is not None:
            stats = {"n": 0, "end": 0, "bad_offset": 0}
            step = ds.chunks[0]

            def visit(info: Any) -> None:
                stats["n"] += 1
                stats["end"] = max(stats["end"], int(info.byte_offset) + int(info.size))
                if info.chunk_offset[0] % step or info.chunk_offset[1] != 0:
                    stats["bad_offset"] += 1

            ds.id.chunk_iter(visit)
            out["chunk_index"] = stats
        return out


def _probe_timeout() -> float:
    raw = os.environ.get(PROBE_TIMEOUT_ENV)
    if not raw:
        return _DEFAULT_PROBE_TIMEOUT
    try:
        return check_positive_float(float(raw), PROBE_TIMEOUT_ENV)
    except ValueError:
        raise ValueError(f"${PROBE_TIMEOUT_ENV} must be a positive number of seconds, got {raw!r}") from None


def _run_forked(path: str, timeout: float) -> tuple[str, Any]:
    """Probe in a forked child; return ``("ok", result)``, ``("signal", n)``, ``("exit", code)`` or ``("timeout", None)``."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns
        code = 0
        try:
            os.close(r)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            try:
                res = _probe_in_child(path)
            except Exception as exc:  # noqa: BLE001 - reported to the parent as a format error
                res = {"error": f"{type(exc).__name__}: {exc}"}
            data = json.dumps(res).encode()
            view = memoryview(data)
            while view:
                view = view[os.write(w, view):]
        except BaseException:  # noqa: BLE001
            code = 3
        finally:
            os._exit(code)
    os.close(w)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout", None
            ready, _, _ = select.select([r], [], [], min(left, 0.1))  # short waits: signals are handled
            if ready:
                block = os.read(r, 1 << 16)
                if not block:
                    break
                chunks.append(block)
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                return "timeout", None
            time.sleep(0.005)
        pid = 0
        if os.WIFSIGNALED(status):
            return "signal", os.WTERMSIG(status)
        if os.WEXITSTATUS(status) != 0:
            return "exit", os.WEXITSTATUS(status)
        return "ok", json.loads(b"".join(chunks))
    finally:
        os.close(r)
        if pid:
            _kill(pid)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def _run_spawned(path: str, timeout: float) -> tuple[str, Any]:
    """Probe in a fresh interpreter (used when other Python threads run, where ``fork`` is unsafe)."""
    code = "import json, sys\nfrom spikevision.io.container import _probe_in_child\n" \
           "try:\n    r = _probe_in_child(sys.argv[1])\nexcept Exception as e:\n" \
           "    r = {'error': f'{type(e).__name__}: {e}'}\nsys.stdout.write(json.dumps(r))\n"
    env = dict(os.environ)
    src_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = src_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.Popen([sys.executable, "-c", code, path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=env)
    try:
        deadline = time.monotonic() + timeout
        while proc.poll() is None:
            if time.monotonic() > deadline:
                return "timeout", None
            time.sleep(0.02)
        out = proc.stdout.read() if proc.stdout else b""
        if proc.returncode < 0:
            return "signal", -proc.returncode
        if proc.returncode != 0:
            return "exit", proc.returncode
        return "ok", json.loads(out)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


_VERIFIED: dict[tuple, dict] = {}


def _stamp(p: Path) -> tuple:
    st = p.stat()
    return (str(p.resolve()), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def probe_h5(path: str | os.PathLike, *, timeout: float | None = None) -> dict[str, Any]:
    """Describe an ``.h5`` file's ``/spikes`` dataset from a child process, under a time limit.

    Returns the child's report (attributes with their types, shape, dtype,
    chunks, filters, chunk index statistics). Raises
    :class:`~spikevision.SpikeFormatError` when the file is not HDF5, when
    HDF5 fails on it, crashes the child (e.g. ``SIGSEGV``) or does not finish
    within ``timeout`` seconds (default ``$SPIKEVISION_H5_PROBE_TIMEOUT`` or 20).
    """
    p = check_existing_file(path, "container")
    timeout = _probe_timeout() if timeout is None else check_positive_float(timeout, "timeout")
    with open(p, "rb") as fh:
        head = fh.read(8)
    if head != _HDF5_SIGNATURE:
        raise SpikeFormatError(f"{p} is not a readable HDF5 file: its first bytes are {head!r}, expected {_HDF5_SIGNATURE!r}")
    before = _stamp(p)
    if before in _VERIFIED:
        return _VERIFIED[before]
    if hasattr(os, "fork"):
        kind, res = _run_forked(str(p), timeout)
        if kind == "timeout" and threading.active_count() > 1:
            # A forked child can inherit a lock another thread held; confirm in a fresh interpreter.
            kind, res = _run_spawned(str(p), timeout)
    else:  # pragma: no cover - non-POSIX
        kind, res = _run_spawned(str(p), timeout)
    if kind == "timeout":
        raise SpikeFormatError(
            f"{p}: HDF5 did not finish opening the file within {timeout:g} s (a corrupt file can make it loop); "
            f"if the file is intact but huge, raise ${PROBE_TIMEOUT_ENV}"
        )
    if kind == "signal":
        raise SpikeFormatError(f"{p} is corrupt: opening it crashed the HDF5 library ({signal.Signals(res).name}) "
                               "in a guarded child process")
    if kind == "exit" or not isinstance(res, dict):
        raise SpikeFormatError(f"{p}: the guarded HDF5 probe failed (exit status {res})")
    if "error" in res:
        raise SpikeFormatError(f"{p} is not a readable spikevision container: {res['error']}")
    if _stamp(p) != before:
        raise SpikeFormatError(f"{p} changed while it was being checked; try again when it is complete")
    _VERIFIED[before] = res
    return res


# --------------------------------------------------------------------------- reading
def _attr(report: dict, key: str, p: Path, *, required: bool = True) -> Any:
    raw = report["attrs"].get(key)
    if raw is None:
        if required:
            raise SpikeFormatError(f"{p}: attribute {key!r} of /spikes is missing")
        return None
    kind, value = raw
    want = _ATTR_TYPES[key]
    if want is str and kind in ("str", "bytes"):
        return value
    if want is int and kind == "int":
        return value
    if want is float and kind in ("float", "int") and not isinstance(value, str):
        return float(value)
    raise SpikeFormatError(f"{p}: attribute {key!r} of /spikes must be {want.__name__}, found {kind} {value!r}")


def _check_report(report: dict, p: Path) -> dict[str, Any]:
    """Validate the probe's report; return the checked settings of the stream."""
    fmt = _attr(report, "format", p)
    if fmt != FORMAT_NAME:
        raise SpikeFormatError(f"{p}: expected format {FORMAT_NAME!r}, found {fmt!r}")
    version = _attr(report, "format_version", p)
    if version not in (1, 2):
        newer = " (newer than this reader: upgrade spikevision)" if version > FORMAT_VERSION else ""
        raise SpikeFormatError(f"{p}: format version {version} is not one this reader knows (1, 2){newer}")
    for key in _REQUIRED_V1:
        _attr(report, key, p)
    h, w = _attr(report, "height", p), _attr(report, "width", p)
    if h < 1 or w < 1:
        raise SpikeFormatError(f"{p}: height and width must be >= 1, got {h} x {w}")
    rate = _attr(report, "rate_hz", p)
    if not (math.isfinite(rate) and rate > 0):
        raise SpikeFormatError(f"{p}: rate_hz must be a finite number > 0, got {rate!r}")
    rows, bitorder = _attr(report, "rows", p), _attr(report, "bitorder", p)
    if bitorder != "little" or rows not in ("top-down", "bottom-up"):
        raise SpikeFormatError(f"{p}: unsupported bit order {bitorder!r} or row order {rows!r}")
    first = _attr(report, "first_frame", p, required=version >= 2)
    first = 0 if first is None else first
    if first < 0:
        raise SpikeFormatError(f"{p}: first_frame must be >= 0, got {first}")
    text = _attr(report, "attrs_json", p, required=version >= 2)
    try:
        extra = json.loads(text) if text is not None else {}
    except json.JSONDecodeError as exc:
        raise SpikeFormatError(f"{p}: attribute 'attrs_json' is not valid JSON: {exc}") from exc
    if not isinstance(extra, dict):
        raise SpikeFormatError(f"{p}: attribute 'attrs_json' must hold a JSON object, got {type(extra).__name__}")
    shape, nb = report["shape"], frame_bytes(h, w)
    if report["dtype"] != "|u1" or len(shape) != 2 or shape[1] != nb:
        raise SpikeFormatError(f"{p}: /spikes must be uint8 (T, {nb}) for {h}x{w} frames, "
                               f"found {report['dtype']} {tuple(shape)}")
    if shape[0] < 1:
        raise SpikeFormatError(f"{p} holds no spike frames")
    chunks = report["chunks"]
    if version >= 2:
        if not report["fletcher32"] or chunks is None:
            raise SpikeFormatError(f"{p}: a version 2 container must be chunked with the Fletcher-32 checksum")
        layout = {"shape": shape, "chunks": chunks, "compression": report["compression"], "fletcher32": True}
        attrs = {k: _attr(report, k, p) for k in _ATTR_TYPES if k != "meta_sha256"}
        if metadata_digest(attrs, layout) != _attr(report, "meta_sha256", p):
            raise SpikeFormatError(f"{p}: the metadata does not match its SHA-256 (meta_sha256): the file is corrupt")
    if chunks is not None:
        idx = report.get("chunk_index") or {}
        need = -(-shape[0] // chunks[0]) if chunks[0] > 0 else -1
        if chunks[1] != nb or idx.get("n") != need or idx.get("bad_offset"):
            raise SpikeFormatError(f"{p}: /spikes stores {idx.get('n')} chunks but its shape {tuple(shape)} "
                                   f"needs {need} (the file claims frames it does not hold)")
        if idx.get("end", 0) > p.stat().st_size:
            raise SpikeFormatError(f"{p}: a chunk of /spikes ends at byte {idx['end']}, past the end of the "
                                   f"{p.stat().st_size}-byte file (truncated?)")
    elif shape[0] * nb > p.stat().st_size:
        raise SpikeFormatError(f"{p}: /spikes claims {shape[0] * nb} bytes of frames; the file has {p.stat().st_size}")
    return {"height": h, "width": w, "rate_hz": rate, "upright": rows == "top-down", "first_frame": first,
            "attrs": extra, "n_frames": shape[0], "version": version}


class _H5Rows:
    """Rows of the ``/spikes`` dataset; HDF5 read failures (e.g. a chunk failing Fletcher-32) become format errors."""

    def __init__(self, ds: Any, path: Path) -> None:
        self._ds = ds
        self.path = path
        self.shape = tuple(int(x) for x in ds.shape)

    def __getitem__(self, key: slice) -> np.ndarray:
        a, b, _ = key.indices(self.shape[0])
        try:
            return np.asarray(self._ds[key])
        except Exception as exc:  # noqa: BLE001 - h5py raises OSError/RuntimeError/KeyError on corrupt chunks
            raise SpikeFormatError(f"{self.path}: frames [{a}, {b}) cannot be read (checksum or decompression "
                                   f"failed: the file is corrupt): {exc}") from exc


def read_h5(path: str | os.PathLike) -> SpikeStream:
    """Open an HDF5 spike container lazily; close it with ``stream.close()`` or ``with``.

    The file is first checked in a guarded child process (:func:`probe_h5`);
    attributes must have their documented types (``height`` 7.9 is an error,
    not 7), the stored chunks must cover the declared frames, and version 2
    metadata must match its SHA-256. Frames are checked (Fletcher-32) as they
    are read. Every failure is a :class:`~spikevision.SpikeFormatError`
    naming the file.

    >>> with read_h5("clip.h5") as s:  # doctest: +SKIP
    ...     frames = s.frames(0, 100)
    """
    h5py = _h5py()
    p = check_existing_file(path, "container")
    info = _check_report(probe_h5(p), p)
    before = _stamp(p)
    try:
        f = h5py.File(p, "r")
    except Exception as exc:  # noqa: BLE001
        raise SpikeFormatError(f"{p} is not a readable HDF5 file: {exc}") from exc
    try:
        try:
            ds = f["spikes"]
            rows = _H5Rows(ds, p)
        except Exception as exc:  # noqa: BLE001
            raise SpikeFormatError(f"{p}: cannot open /spikes: {exc}") from exc
        if _stamp(p) != before or rows.shape[0] != info["n_frames"]:
            raise SpikeFormatError(f"{p} changed while it was being opened; try again when it is complete")
        src = PackedSource(rows, info["height"], info["width"], upright=info["upright"], closer=f.close)
        return SpikeStream(src, rate_hz=info["rate_hz"], attrs=info["attrs"], first_frame=info["first_frame"])
    except BaseException:
        f.close()
        raise
