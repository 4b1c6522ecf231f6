from .selective_mae import SelectiveMAE  # noqa: F401
