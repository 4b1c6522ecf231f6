"""Make our model zoo visible to ``mmpretrain.list_models`` / ``get_model``.

mmpretrain's ``ModelHub`` reads its own ``model-index.yml`` only; other
model indexes join through ``ModelHub.register_model_index``. Ours lists the
pretraining, classification, detection and segmentation configs (the
``metafile.yml`` beside each config family) and is registered once, when
``selective_mae`` is imported. Config paths in the metafiles are relative to
the repository root.
"""
import os.path as osp
from typing import Optional

_REGISTERED = []


def find_model_index() -> Optional[str]:
    """Path of our ``model-index.yml``.

    Looks in ``selective_mae/.mim/`` (an installed package that ships its
    configs) and in the source checkout (``selective_mae/..``).

    Returns:
        str | None: The file, or None when neither place has it.
    """
    pkg = osp.dirname(osp.dirname(osp.abspath(__file__)))
    for root in (osp.join(pkg, '.mim'), osp.dirname(pkg)):
        path = osp.join(root, 'model-index.yml')
        if osp.isfile(path):
            return path
    return None


def register_model_zoo(model_index: Optional[str] = None) -> bool:
    """Register our model index in mmpretrain's ``ModelHub`` (once).

    Args:
        model_index (str, optional): A ``model-index.yml``. Defaults to
            :func:`find_model_index`.

    Returns:
        bool: Whether a model index is registered.
    """
    model_index = model_index or find_model_index()
    if model_index is None:
        return False
    model_index = osp.abspath(model_index)
    if model_index in _REGISTERED:
        return True
    from mmpretrain.apis import ModelHub
    ModelHub.register_model_index(
        model_index, config_prefix=osp.dirname(model_index))
    _REGISTERED.append(model_index)
    return True
