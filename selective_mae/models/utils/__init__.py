from .checkpoint_convert import (detect_layout, load_vit_backbone_weights,  # noqa: F401,E501
                                 mmpretrain_to_timm, timm_to_mmpretrain)
from .data_preprocessor import RSSelfSupDataPreprocessor  # noqa: F401
from .richness import HOGRichness  # noqa: F401
from .layer_norm_2d import LayerNorm2d  # noqa: F401
