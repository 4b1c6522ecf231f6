from . import samplers, transforms  # noqa: F401
from .image_io import CorruptImageError, read_rs_image  # noqa: F401
from .rs4m import RS4M, BadImage, RSBatch, rs_collate  # noqa: F401
