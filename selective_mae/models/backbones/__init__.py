from .plain_vit import PlainViT  # noqa: F401
from .selective_mae_vit import SelectiveMAEViT  # noqa: F401
