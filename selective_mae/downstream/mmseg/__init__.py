"""mmseg adapter, loaded by segmentation configs through
``custom_imports=dict(imports=['selective_mae',
'selective_mae.downstream.mmseg'])``.

``PlainViT``, ``SimpleFeaturePyramid``,
``ViTLayerDecayOptimWrapperConstructor`` and ``FiniteLossHook`` live in mmengine's root registries, which mmseg's
registries fall back to; importing this module imports mmseg's modules so a
broken stack fails early and clearly, and registers the data sets mmseg
lacks (:class:`SpaceNetV1Dataset`) in mmseg's registry.
"""
import selective_mae  # noqa: F401

import mmseg.datasets  # noqa: F401,E402
import mmseg.evaluation  # noqa: F401,E402
import mmseg.models  # noqa: F401,E402

from .datasets import SpaceNetV1Dataset  # noqa: E402
from .visualize import colorize_mask, overlay_mask  # noqa: E402

__all__ = ['SpaceNetV1Dataset', 'colorize_mask', 'overlay_mask']
