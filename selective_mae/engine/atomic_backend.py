"""Crash-safe local files: write to a temporary name, fsync, rename.

mmengine's ``LocalBackend.put`` opens the final path and writes into it, so
a kill or a full disk during a checkpoint save leaves a truncated file under
the checkpoint's name (and ``--resume`` then dies on it). Here every write
goes to a hidden temporary file in the same folder, is flushed to the disk
(``fsync``), and only then renamed over the final name (``os.replace``,
atomic on POSIX file systems); the folder is fsynced so the rename itself
survives a crash. A reader sees the old file or the new one, never a part.

:class:`AtomicLocalBackend` is registered with ``mmengine.fileio`` as
``'atomic_local'`` (not as the default local backend: nothing changes for
code that does not ask for it). Select it with
``backend_args=dict(backend='atomic_local')``, as
:class:`~selective_mae.engine.hooks.AtomicCheckpointHook` does by default.
"""
import errno
import glob
import os
import os.path as osp
import shutil
import tempfile

from mmengine.fileio import LocalBackend, register_backend

TMP_MARK = '.tmp-'


class CheckpointWriteError(RuntimeError):
    """A file could not be written; nothing was left under its name."""


def human_size(n):
    """``1234567`` -> ``'1.2 MB'``."""
    n = float(n)
    for unit in ('B', 'kB', 'MB', 'GB', 'TB'):
        if n < 1000 or unit == 'TB':
            return f'{n:.0f} {unit}' if unit == 'B' else f'{n:.1f} {unit}'
        n /= 1000


def _free_space(folder):
    try:
        return human_size(shutil.disk_usage(folder).free)
    except OSError:
        return 'unknown space'


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_all(fd, data):
    """``os.write`` until all of ``data`` is written."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def fsync_dir(folder):
    """Flush a folder's entries (a rename in it) to the disk, where the
    platform allows."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path, data):
    """Write ``data`` to ``path`` so that ``path`` is never partial.

    Args:
        path (str): Final file path; its folder is created if missing.
        data (bytes | str): Contents (``str`` is written as UTF-8).

    Raises:
        CheckpointWriteError: The write failed (disk full, quota, I/O
            error, permissions); the message names the file, the folder's
            free space and the size needed. The temporary file is removed
            and whatever ``path`` held before is unchanged.
    """
    if isinstance(data, str):
        data = data.encode('utf-8')
    path = osp.abspath(osp.expanduser(str(path)))
    folder = osp.dirname(path)
    tmp = None
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f'.{osp.basename(path)}{TMP_MARK}', dir=folder)
        try:
            os.fchmod(fd, 0o666 & ~_umask())
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        tmp = None
        fsync_dir(folder)
    except OSError as e:
        reason = e.strerror or str(e)
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            reason = 'no space left on the device'
        raise CheckpointWriteError(
            f'could not write {path}: {reason}; {_free_space(folder)} free '
            f'in {folder}, {human_size(len(data))} needed. Nothing was '
            'written under that name: the previous checkpoints and '
            'last_checkpoint are unchanged.') from e
    finally:
        if tmp is not None:
            try:
                os.remove(tmp)
            except OSError:
                pass


def remove_stale_temporaries(folder):
    """Delete temporary files that a killed :func:`atomic_write` left.

    Args:
        folder (str): Folder to clean.

    Returns:
        list[str]: The removed paths.
    """
    removed = []
    for path in glob.glob(osp.join(glob.escape(folder), f'.*{TMP_MARK}*')):
        try:
            os.remove(path)
            removed.append(path)
        except OSError:
            pass
    return removed


@register_backend('atomic_local', force=True)
class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose writes are atomic (see the module
    notes); reads, listing and removal are the local backend's."""

    def put(self, obj, filepath):
        """Write bytes to ``filepath`` atomically.

        Args:
            obj (bytes): Data to write.
            filepath (str | Path): Destination.
        """
        atomic_write(filepath, obj)

    def put_text(self, obj, filepath, encoding='utf-8'):
        """Write text to ``filepath`` atomically.

        Args:
            obj (str): Text to write.
            filepath (str | Path): Destination.
            encoding (str): Text encoding. Defaults to 'utf-8'.
        """
        atomic_write(filepath, obj.encode(encoding))
