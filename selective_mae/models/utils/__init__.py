from .data_preprocessor import RSSelfSupDataPreprocessor  # noqa: F401
from .layer_norm_2d import LayerNorm2d  # noqa: F401
