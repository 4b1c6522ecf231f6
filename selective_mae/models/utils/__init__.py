from .richness import HOGRichness  # noqa: F401
