from .device_decode import (LoadEncodedRandomResizedCrop,  # noqa: F401
                            PackEncodedInputs)
from .loading import LoadRandomResizedCrop, LoadRSImage  # noqa: F401
