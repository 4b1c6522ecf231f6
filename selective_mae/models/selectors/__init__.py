"""Token selection: which patches the encoder sees and which it must
reconstruct. ``PSTS`` (progressive semantic token selection) is built by
``SelectiveMAE`` as its ``selector=``; it scores patches with
``HOGRichness`` (histograms of oriented gradients)."""
from .hog_richness import HOGRichness  # noqa: F401
from .psts import PSTS  # noqa: F401
