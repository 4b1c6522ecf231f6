"""SelectiveMAE for remote sensing, as an mmpretrain plugin.

Importing the package applies the run-time fixes the stack needs
(:mod:`selective_mae.utils.compat`) and registers the pretraining modules in
mmpretrain's registries. It never imports mmdet, mmrotate or mmseg: the
adapters in :mod:`selective_mae.downstream` do, when a config imports them.
"""
from .utils import compat

compat.apply_all()

with compat.downstream_imports_hidden():
    from . import datasets, engine, models  # noqa: E402,F401
from .utils.model_zoo import register_model_zoo  # noqa: E402
from .version import __version__  # noqa: E402

register_model_zoo()

__all__ = ['__version__']
