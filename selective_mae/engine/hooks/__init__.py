from .bad_image_hook import BadImageHook  # noqa: F401
from .infobatch_hook import InfoBatchHook  # noqa: F401
