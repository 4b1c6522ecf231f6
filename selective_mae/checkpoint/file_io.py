"""Read and write checkpoint files: the one reader of the package.

Every checkpoint the package reads goes through :func:`load_checkpoint_file`:
mmengine's ``load_from`` / ``--resume`` (its local-file loader is replaced by
:func:`load_from_local`), the resume check
(:mod:`selective_mae.engine.runner.resume`), pretrained backbones
(:func:`~selective_mae.checkpoint.backbone.load_vit_backbone_weights`) and
every converter under ``tools/model_converters/``.

It always unpickles with torch's restricted loader (``weights_only=True``),
on every torch version, so a downloaded file cannot build arbitrary objects.
Besides tensors and plain containers it accepts only what our own and the
released files hold (:func:`checkpoint_safe_globals`):

* mmengine's training state: the message hub's ``HistoryBuffer`` (with a
  narrow stand-in for the ``getattr`` its pickles call), numpy arrays,
  scalars and dtypes;
* ``argparse.Namespace``: the released SelectiveMAE / MAE training scripts
  save their command line under ``'args'`` (a namespace of plain values).

These types are also added to torch's global allow-list when the package is
imported (:func:`install_weights_only_loading`), so a plain
``torch.load(path, weights_only=True)`` of a training checkpoint works too.
"""
import argparse
import os
import os.path as osp
import pickle
import re
from typing import Dict

import torch

_INSTALLED = []


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
    """Types besides tensors that our checkpoints and the released ones hold.

    Returns:
        list: Classes and functions to allow in weights-only unpickling
        (a ``(function, name)`` pair stands in for the global ``name``).
    """
    import numpy as np
    from mmengine.logging import HistoryBuffer

    safe = [HistoryBuffer, np.ndarray, np.dtype, argparse.Namespace,
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


def load_checkpoint_file(filename: str, map_location='cpu',
                         mmap: bool = False) -> Dict:
    """Load a checkpoint file (local path or ``http(s)://`` URL), weights
    only.

    Args:
        filename (str): A local path (``~`` expanded) or a URL (downloaded
            to torch's hub cache).
        map_location: As for ``torch.load``. Defaults to ``'cpu'``.
        mmap (bool): Memory-map the tensors of a local zip-format file
            instead of reading them (cheap inspection of large files).
            Defaults to False.

    Returns:
        dict: What the file holds.

    Raises:
        FileNotFoundError: A local file that does not exist (named).
        pickle.UnpicklingError: The file holds an object outside the
            allow-list; the message names the file and the object.
    """
    filename = str(filename)
    # Added for good, not with torch's ``safe_globals`` context manager:
    # its exit restores the list from before the ``with``, which also drops
    # what ``import selective_mae`` had added (then any later weights-only
    # ``torch.load`` of an mmengine checkpoint failed). Adding is idempotent.
    torch.serialization.add_safe_globals(checkpoint_safe_globals())
    try:
        if re.match(r'https?://', filename):
            from torch.hub import load_state_dict_from_url
            return load_state_dict_from_url(
                filename, map_location=map_location, weights_only=True)
        filename = osp.expanduser(filename)
        if not osp.isfile(filename):
            raise FileNotFoundError(
                f'checkpoint {filename!r} does not exist')
        return torch.load(
            filename, map_location=map_location, weights_only=True,
            mmap=mmap)
    except pickle.UnpicklingError as e:
        raise pickle.UnpicklingError(
            f'{filename!r} holds objects that are not allowed in a '
            'weights-only load. selective_mae loads every checkpoint with '
            "torch's restricted loader; if you trust this file, allow the "
            'type named below with torch.serialization.add_safe_globals '
            f'before loading it.\n{e}') from e


def load_from_local(filename, map_location=None):
    """mmengine's local-file checkpoint scheme, through
    :func:`load_checkpoint_file`.

    mmengine logs "Loads checkpoint by <name[10:]> backend" with this
    function's name, hence the name: "local backend".
    """
    return load_checkpoint_file(filename, map_location=map_location)


def install_weights_only_loading():
    """Make mmengine load local checkpoints with :func:`load_checkpoint_file`
    and allow its checkpoint types in any weights-only ``torch.load``.

    Called by ``import selective_mae``; later calls do nothing.
    """
    if _INSTALLED:
        return
    from mmengine.runner.checkpoint import CheckpointLoader

    torch.serialization.add_safe_globals(checkpoint_safe_globals())
    CheckpointLoader.register_scheme(prefixes='', force=True)(
        load_from_local)
    _INSTALLED.append(True)


def unwrap_checkpoint(checkpoint: Dict) -> Dict[str, torch.Tensor]:
    """Return the state dict of a loaded checkpoint file.

    Args:
        checkpoint (dict): What :func:`load_checkpoint_file` returned: an
            mmengine file (``state_dict``), a released/timm file
            (``model``), or a bare state dict.

    Returns:
        dict: Tensors by name, with a DDP ``module.`` prefix removed.
    """
    if not isinstance(checkpoint, dict):
        raise TypeError('A checkpoint must be a dict of tensors, got '
                        f'{type(checkpoint).__name__}')
    for wrapper in ('state_dict', 'model', 'model_ema'):
        if isinstance(checkpoint.get(wrapper), dict):
            checkpoint = checkpoint[wrapper]
            break
    if checkpoint and all(k.startswith('module.') for k in checkpoint):
        checkpoint = {k[len('module.'):]: v for k, v in checkpoint.items()}
    return checkpoint


def save_checkpoint_file(obj, dst: str) -> str:
    """``torch.save`` to a temporary name beside ``dst``, then rename, so an
    interrupted write never leaves a truncated ``dst``.

    Args:
        obj: What to save.
        dst (str): Output path; its folder is created.

    Returns:
        str: The absolute path written.
    """
    dst = osp.abspath(dst)
    os.makedirs(osp.dirname(dst), exist_ok=True)
    tmp = dst + '.part'
    torch.save(obj, tmp)
    os.replace(tmp, dst)
    return dst
