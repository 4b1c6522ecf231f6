from .layer_decay import (ViTLayerDecayOptimWrapperConstructor,
                          get_vit_layer_depth)

__all__ = ['ViTLayerDecayOptimWrapperConstructor', 'get_vit_layer_depth']
