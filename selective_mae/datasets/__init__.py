from . import samplers, transforms  # noqa: F401
from .image_io import BadPixelsError, CorruptImageError, read_rs_image  # noqa: F401,E501
from .rs4m import RS4M, BadImage, RSBatch, rs_collate  # noqa: F401
from .scene_classification import (AID, NWPURESISC45,  # noqa: F401
                                   SceneClassificationDataset, UCMerced)
from .scene_splits import generate_scene_splits  # noqa: F401
