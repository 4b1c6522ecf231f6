from .loading import LoadRandomResizedCrop, LoadRSImage  # noqa: F401
