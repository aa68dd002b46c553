"""Atomic file writes: write to a temporary file next to the target, then rename.

An interrupted write (exception, Ctrl-C, killed process) never leaves a
partial file under the target name: either the old file (or nothing) or the
complete new file is there. The temporary file is removed on exceptions,
Ctrl-C and, in the ``spikevision`` command, SIGTERM
(:func:`spikevision.cli.main.terminate_as_exit`); a process killed outright
(SIGKILL) may leave it behind, a hidden ``.<name>.*.tmp*`` file next to the target.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

__all__ = ["atomic_path", "atomic_open"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it to ``path`` on success.

    Use it with writers that want a file name (h5py, imageio, Pillow):

    >>> with atomic_path("out.png") as tmp:  # doctest: +SKIP
    ...     Image.fromarray(img).save(tmp, format="PNG")
    """
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.exists():
        raise FileNotFoundError(f"output folder does not exist: {parent}")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + target.suffix, dir=parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file for writing; flush, fsync and rename it to ``path`` on success."""
    if not mode.startswith("w"):
        raise ValueError(f"atomic_open only writes; mode must start with 'w', got {mode!r}")
    with atomic_path(path) as tmp:
        with open(tmp, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
