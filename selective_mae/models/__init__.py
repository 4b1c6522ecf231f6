from . import backbones, necks  # noqa: F401
from . import heads, selfsup, utils  # noqa: F401
