from .simple_feature_pyramid import SimpleFeaturePyramid  # noqa: F401
from .cross_attention_decoder import CrossAttentionDecoder  # noqa: F401
