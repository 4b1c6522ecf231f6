"""mmdet adapter, loaded by horizontal-detection configs through
``custom_imports=dict(imports=['selective_mae',
'selective_mae.downstream.mmdet'])``.

``PlainViT``, ``SimpleFeaturePyramid``,
``ViTLayerDecayOptimWrapperConstructor`` and ``FiniteLossHook`` live in
mmengine's root registries, which mmdet's registries fall back to. This
module imports mmdet's modules (so a broken stack fails here, with mmdet's
own message) and registers :class:`DIORCocoDataset` in mmdet's registry.
"""
import selective_mae  # noqa: F401

import mmdet.datasets  # noqa: F401,E402
import mmdet.evaluation  # noqa: F401,E402
import mmdet.models  # noqa: F401,E402

from .datasets import DIORCocoDataset  # noqa: E402

__all__ = ['DIORCocoDataset']
