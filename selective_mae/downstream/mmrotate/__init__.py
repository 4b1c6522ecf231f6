"""mmrotate / mmdet adapter, loaded by detection configs through
``custom_imports=dict(imports=['selective_mae',
'selective_mae.downstream.mmrotate'])``.

``PlainViT``, ``SimpleFeaturePyramid``,
``ViTLayerDecayOptimWrapperConstructor`` and ``FiniteLossHook`` live in mmengine's root registries, which mmrotate's
and mmdet's registries fall back to, so nothing is registered here. Importing
this module applies the run-time fixes mmrotate needs (``import
selective_mae``) and then imports mmrotate's modules, so a wrong stack fails
here with mmrotate's own message rather than in the middle of a build.
"""
import selective_mae  # noqa: F401  (collections aliases before mmrotate)

import mmrotate.datasets  # noqa: F401,E402
import mmrotate.evaluation  # noqa: F401,E402
import mmrotate.models  # noqa: F401,E402

from .visualize import (draw_rotated_boxes,  # noqa: E402
                        rotated_boxes_to_corners)

__all__ = ['draw_rotated_boxes', 'rotated_boxes_to_corners']
