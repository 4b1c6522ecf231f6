from . import backbones, necks  # noqa: F401
from . import heads, selectors, selfsup, utils  # noqa: F401
