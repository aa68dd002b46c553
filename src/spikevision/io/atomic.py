"""Atomic file writes: write to a temporary file next to the target, then rename.

An interrupted write (exception, Ctrl-C, killed process) never leaves a
partial file under the target name: either the old file (or nothing) or the
complete new file is there. The temporary file is removed on exceptions,
Ctrl-C and, in the ``spikevision`` command, SIGTERM
(:func:`spikevision.cli.main.terminate_as_exit`). A process killed outright
(SIGKILL) leaves it behind as a hidden ``.<name>.p<pid>-*.tmp*`` file next to
the target; the next atomic write to the same target removes such leftovers
whose process no longer runs.

Files that belong together (a ``.dat`` and its sidecar ``.json``) are
written with :func:`atomic_group`: all are written to temporary files first
and renamed while holding an exclusive lock on their folder, so two writers
racing to the same targets leave one writer's complete set, never a mix.
Folders (a dataset) are built under a temporary name and swapped in with
:func:`atomic_dir`.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator, Sequence

__all__ = ["atomic_path", "atomic_open", "atomic_group", "atomic_dir", "recover_dir", "clean_stale_temps", "folder_lock"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _temp_prefix(name: str) -> str:
    return f".{name}.p{os.getpid()}-"


def clean_stale_temps(target: str | os.PathLike) -> list[Path]:
    """Remove temporary files and folders left next to ``target`` by writers that were killed.

    Only leftovers named after ``target`` whose writing process no longer
    runs are removed (a concurrent writer's temporary file is left alone).
    Returns the removed paths.
    """
    t = Path(target)
    parent = t.parent if str(t.parent) else Path(".")
    pattern = re.compile(rf"^\.{re.escape(t.name)}\.p(\d+)-.*\.tmp")
    removed = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for e in entries:
        m = pattern.match(e.name)
        if not m or _pid_alive(int(m[1])):
            continue
        path = Path(e.path)
        with contextlib.suppress(OSError):
            if e.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    return removed


def _parent(target: Path) -> Path:
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.exists():
        raise FileNotFoundError(f"output folder does not exist: {parent}")
    return parent


def _new_temp(target: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(target.name), suffix=".tmp" + target.suffix, dir=_parent(target))
    os.close(fd)
    return Path(tmp)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it to ``path`` on success.

    Use it with writers that want a file name (h5py, imageio, Pillow):

    >>> with atomic_path("out.png") as tmp:  # doctest: +SKIP
    ...     Image.fromarray(img).save(tmp, format="PNG")
    """
    target = Path(path)
    tmp_path = _new_temp(target)
    clean_stale_temps(target)
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


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive advisory lock (``flock``) on ``folder`` itself; no lock file is created."""
    import fcntl

    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def atomic_group(paths: Sequence[str | os.PathLike]) -> Iterator[list[Path]]:
    """Yield one temporary path per target; on success rename them all, holding the folder's lock.

    The targets must share a folder. Concurrent groups to the same targets
    commit one after the other, so the folder ends with one writer's complete
    set. A reader that must tell whether the files still belong together
    (after a SIGKILL between two renames) needs a check of its own, such as
    the hash the ``.dat`` sidecar records (:func:`spikevision.io.dat.read_sidecar`).

    >>> with atomic_group(["clip.dat", "clip.json"]) as (dat_tmp, json_tmp):  # doctest: +SKIP
    ...     ...  # write both temporary files
    """
    targets = [Path(p) for p in paths]
    if not targets:
        raise ValueError("atomic_group needs at least one path")
    parents = {_parent(t).resolve() for t in targets}
    if len(parents) != 1:
        raise ValueError(f"atomic_group targets must share a folder, got {sorted(map(str, parents))}")
    tmps: list[Path] = []
    try:
        for t in targets:
            tmps.append(_new_temp(t))
            clean_stale_temps(t)
        yield list(tmps)
        mode = 0o666 & ~_umask()
        for tmp in tmps:
            if tmp.exists():
                os.chmod(tmp, mode)
        with folder_lock(parents.pop()):
            for tmp, t in zip(tmps, targets):
                os.replace(tmp, t)
    except BaseException:
        for tmp in tmps:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a new temporary folder next to ``path``; on success it replaces ``path`` whole.

    An existing ``path`` is moved aside and deleted only after the new folder
    is in place, under the parent folder's lock. If the process is killed
    between those two renames, ``path`` is briefly missing and the old folder
    sits under a hidden ``.<name>.p<pid>-*.tmp-old`` name: the next
    :func:`atomic_dir` on the same path puts it back before starting. A
    killed writer's half-built folder is removed by that next call too.
    """
    target = Path(path)
    parent = _parent(target)
    with folder_lock(parent):
        _restore_old_dir(target)
        clean_stale_temps(target)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(target.name), suffix=".tmp-new", dir=parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        old = None
        with folder_lock(parent):
            if target.exists() or target.is_symlink():
                old = Path(tempfile.mkdtemp(prefix=_temp_prefix(target.name), suffix=".tmp-old", dir=parent))
                os.replace(target, old)
            os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def recover_dir(path: str | os.PathLike) -> bool:
    """Put back a folder an interrupted :func:`atomic_dir` moved aside; return whether it did.

    Only acts when ``path`` is missing and a killed writer's moved-aside copy exists.
    """
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if target.exists() or not parent.is_dir():
        return False
    with folder_lock(parent):
        _restore_old_dir(target)
    return target.exists()


def _restore_old_dir(target: Path) -> None:
    """Put back a folder moved aside by an :func:`atomic_dir` whose process died before deleting it."""
    if target.exists():
        return
    parent = target.parent if str(target.parent) else Path(".")
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.p(\d+)-.*\.tmp-old$")
    for e in os.scandir(parent):
        m = pattern.match(e.name)
        if m and not _pid_alive(int(m[1])) and e.is_dir(follow_symlinks=False) and any(os.scandir(e.path)):
            os.replace(e.path, target)
            return
