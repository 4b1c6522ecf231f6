"""SelectiveMAE for remote sensing, as an mmpretrain plugin.

Importing the package registers the pretraining modules in mmpretrain's
registries and makes mmengine load checkpoints through the package's
weights-only reader (:mod:`selective_mae.checkpoint`). It never imports
mmdet, mmrotate or mmseg, and patches nothing else: the adapters in
:mod:`selective_mae.downstream` import those packages (and apply what they
need) when a config imports them.
"""
from .checkpoint import install_weights_only_loading
from .utils.import_guard import downstream_imports_hidden

install_weights_only_loading()

with downstream_imports_hidden():
    from . import datasets, engine, models  # noqa: E402,F401
from .utils.model_zoo import register_model_zoo  # noqa: E402
from .version import __version__  # noqa: E402

register_model_zoo()

__all__ = ['__version__']
