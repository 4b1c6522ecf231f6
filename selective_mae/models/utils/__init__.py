from .data_preprocessor import RSSelfSupDataPreprocessor  # noqa: F401
