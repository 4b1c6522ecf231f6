from .selective_mae_vit import SelectiveMAEViT  # noqa: F401
