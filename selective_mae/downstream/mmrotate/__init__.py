"""mmrotate / mmdet adapter, loaded by detection configs through
``custom_imports=dict(imports=['selective_mae',
'selective_mae.downstream.mmrotate'])``.

``PlainViT``, ``SimpleFeaturePyramid``,
``ViTLayerDecayOptimWrapperConstructor`` and ``FiniteLossHook`` live in
mmengine's root registries, which mmrotate's and mmdet's registries fall
back to, so nothing is registered here. Importing
this module restores the ``collections`` aliases mmrotate needs
(:func:`restore_collections_aliases`) and then imports mmrotate's modules, so
a wrong stack fails here with mmrotate's own message rather than in the
middle of a build.
"""
import collections
import collections.abc

import selective_mae  # noqa: F401


def restore_collections_aliases():
    """Restore ``collections.Sequence`` & co. (removed in Python 3.10):
    mmrotate 1.0.0rc1 does ``from collections import Sequence``.

    Only mmrotate needs them, so they are set here, when its adapter is
    imported, and not by ``import selective_mae``. Idempotent.
    """
    for name in collections.abc.__all__:
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))


restore_collections_aliases()

import mmrotate.datasets  # noqa: F401,E402
import mmrotate.evaluation  # noqa: F401,E402
import mmrotate.models  # noqa: F401,E402

from .visualize import (draw_rotated_boxes,  # noqa: E402
                        rotated_boxes_to_corners)

__all__ = [
    'draw_rotated_boxes', 'restore_collections_aliases',
    'rotated_boxes_to_corners'
]
