from .selective_mae_head import SelectiveMAEPretrainHead  # noqa: F401
