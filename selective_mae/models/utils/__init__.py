from .data_preprocessor import RSSelfSupDataPreprocessor  # noqa: F401
from .richness import HOGRichness  # noqa: F401
