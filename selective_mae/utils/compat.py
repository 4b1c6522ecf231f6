"""Run-time fixes the pinned OpenMMLab stack needs, applied in one place.

Each fix is small, idempotent and applied by :func:`apply_all`, which
``import selective_mae`` calls (configs import the package first through
``custom_imports``, so the fixes are in place before mmrotate or mmengine's
checkpoint loader run).

1. ``collections`` aliases. mmrotate 1.0.0rc1 does
   ``from collections import Sequence``, removed in Python 3.10. The ABCs are
   re-exported from :mod:`collections.abc` under their old names.
2. Checkpoints on torch >= 2.6. ``torch.load`` defaults to
   ``weights_only=True`` there, and mmengine 0.10.7 resumes from files that
   hold a few non-tensor objects (its ``HistoryBuffer``, numpy scalars and
   arrays in the message hub). Rather than turning the safe loader off, those
   types are added to torch's allow-list of weights-only globals, and
   mmengine's local-file loader always asks for ``weights_only=True``. So a
   run resumes from its own checkpoints, and any file, a downloaded model-zoo
   file included, is still unpickled by the restricted loader only.

Besides, :func:`downstream_imports_hidden` keeps ``import selective_mae``
from importing mmdet: ``mmpretrain.models`` tries ``import mmdet`` (to
register ``ResLayerExtraNorm``, used only by mmdet-based benchmarks) and
would otherwise drag the whole detection stack into every pretraining run.
"""
import collections
import collections.abc
import contextlib
import os.path as osp
import pickle
import sys

DOWNSTREAM_PACKAGES = ('mmdet', 'mmrotate', 'mmseg')

_APPLIED = set()


def fix_collections_aliases():
    """Restore ``collections.Sequence`` & co. for code written before 3.10."""
    for name in collections.abc.__all__:
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))


def history_buffer_getattr(obj, name):
    """The only ``getattr`` a weights-only load may call.

    mmengine's ``HistoryBuffer`` pickles its statistics methods as
    ``getattr(HistoryBuffer, 'mean')``. Allowing the builtin ``getattr``
    would let a crafted file reach any attribute of any allowed object, so
    checkpoints get this narrow stand-in instead.
    """
    from mmengine.logging import HistoryBuffer

    # the built-in statistics, and any registered with
    # HistoryBuffer.register_statistics (the dict fills lazily)
    allowed = {'min', 'max', 'current', 'mean'}
    allowed.update(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'getattr({obj!r}, {name!r}) is not allowed in a weights-only load')


def checkpoint_safe_globals():
    """Types besides tensors that mmengine training checkpoints contain.

    Returns:
        list: Classes and functions to allow in weights-only unpickling
        (a ``(function, name)`` pair stands in for the global ``name``).
    """
    import numpy as np
    from mmengine.logging import HistoryBuffer

    safe = [HistoryBuffer, np.ndarray, np.dtype,
            (history_buffer_getattr, 'builtins.getattr')]
    # numpy arrays and scalars pickle through these reconstructors; their
    # module moved from numpy.core to numpy._core in numpy 2.
    multiarray = getattr(getattr(np, '_core', None), 'multiarray', None)
    if multiarray is None:  # numpy < 2
        multiarray = np.core.multiarray
    safe += [multiarray._reconstruct, multiarray.scalar]
    # dtype objects pickle as instances of their per-type classes
    # (numpy.dtypes.Float64DType, ...).
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        safe += [
            getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')
        ]
    return safe


def weights_only_load(filename, map_location=None):
    """Load a local checkpoint with torch's restricted (weights-only) loader.

    Args:
        filename (str): Path of the checkpoint file.
        map_location (str | torch.device, optional): As for ``torch.load``.

    Returns:
        dict: The loaded checkpoint.
    """
    import torch

    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename!r} does not exist')
    try:
        return torch.load(filename, map_location=map_location,
                          weights_only=True)
    except pickle.UnpicklingError as e:
        raise pickle.UnpicklingError(
            f'{filename!r} holds objects that are not allowed in a '
            'weights-only load. selective_mae loads every checkpoint with '
            "torch's restricted loader; if you trust this file, allow the "
            'type named below with torch.serialization.add_safe_globals '
            f'before loading it.\n{e}') from e


def fix_checkpoint_loading():
    """Allow mmengine's own checkpoint contents in weights-only loads."""
    import torch
    from mmengine.runner.checkpoint import CheckpointLoader

    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(checkpoint_safe_globals())
    CheckpointLoader.register_scheme(prefixes='', force=True)(
        weights_only_load)


class _HiddenPackages:
    """A meta-path finder that reports some top-level packages as absent."""

    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split('.', 1)[0] in self.names:
            raise ModuleNotFoundError(
                f'{fullname} is hidden while selective_mae is imported',
                name=fullname)
        return None


@contextlib.contextmanager
def downstream_imports_hidden():
    """Make optional ``import mmdet`` (& co.) fail inside the block.

    Packages already imported stay visible, so a process that imported mmdet
    first sees no difference.
    """
    hidden = [n for n in DOWNSTREAM_PACKAGES if n not in sys.modules]
    finder = _HiddenPackages(hidden)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def apply_all():
    """Apply every fix once; later calls do nothing."""
    for fix in (fix_collections_aliases, fix_checkpoint_loading):
        if fix.__name__ not in _APPLIED:
            fix()
            _APPLIED.add(fix.__name__)
