"""Checkpoint interop: read and write files, detect and convert ViT layouts,
load pretrained encoders.

- :mod:`.file_io`: the one checkpoint reader (weights only, local or URL)
  and the atomic writer; mmengine's local loader goes through it.
- :mod:`.layouts`: the timm and mmpretrain key layouts of the ViT encoder,
  the MAE decoder and the classifier head, and the maps between them.
- :mod:`.released`: the released SelectiveMAE model, whole, into ours.
- :mod:`.backbone`: a pretrained encoder of either layout into a backbone
  (position embedding resized).
"""
from .backbone import load_vit_backbone_weights
from .file_io import (checkpoint_safe_globals, install_weights_only_loading,
                      load_checkpoint_file, save_checkpoint_file,
                      unwrap_checkpoint)
from .layouts import (CLS_HEAD_KEYS, ENCODER_KEYS, MAE_DECODER_KEYS,
                      convert_model, detect_layout, encoder_state_dict,
                      map_keys, mmpretrain_to_timm, timm_to_mmpretrain)
from .released import (RELEASED_DECODER_KEYS, RELEASED_UNUSED_KEYS,
                       convert_released_selectivemae,
                       is_released_selectivemae)

__all__ = [
    'load_vit_backbone_weights', 'checkpoint_safe_globals',
    'install_weights_only_loading', 'load_checkpoint_file',
    'save_checkpoint_file', 'unwrap_checkpoint', 'CLS_HEAD_KEYS',
    'ENCODER_KEYS', 'MAE_DECODER_KEYS', 'convert_model', 'detect_layout',
    'encoder_state_dict', 'map_keys', 'mmpretrain_to_timm',
    'timm_to_mmpretrain', 'RELEASED_DECODER_KEYS', 'RELEASED_UNUSED_KEYS',
    'convert_released_selectivemae', 'is_released_selectivemae'
]
