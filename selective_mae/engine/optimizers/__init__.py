from .bf16_optim_wrapper import BF16OptimWrapper
from .decay_groups import (NO_DECAY_NAMES, DecayGroupsOptimWrapperConstructor,
                           no_weight_decay, split_decay)
from .layer_decay import (ViTLayerDecayOptimWrapperConstructor,
                          get_vit_layer_depth)

__all__ = [
    'BF16OptimWrapper', 'DecayGroupsOptimWrapperConstructor',
    'NO_DECAY_NAMES', 'no_weight_decay', 'split_decay',
    'ViTLayerDecayOptimWrapperConstructor', 'get_vit_layer_depth'
]
