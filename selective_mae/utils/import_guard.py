"""Keep ``import selective_mae`` from importing mmdet.

``mmpretrain.models`` tries ``import mmdet`` (to register
``ResLayerExtraNorm``, used only by mmdet-based benchmarks) and would
otherwise drag the whole detection stack into every pretraining run.
:func:`downstream_imports_hidden` makes that optional import fail while the
plugin imports its modules. The time it saves is measured in
``docs/install.md`` ("Import time").
"""
import contextlib
import sys

DOWNSTREAM_PACKAGES = ('mmdet', 'mmrotate', 'mmseg')


class _HiddenPackages:
    """A meta-path finder that reports some top-level packages as absent."""

    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split('.', 1)[0] in self.names:
            raise ModuleNotFoundError(
                f'{fullname} is hidden while selective_mae is imported',
                name=fullname)
        return None


@contextlib.contextmanager
def downstream_imports_hidden():
    """Make optional ``import mmdet`` (& co.) fail inside the block.

    Packages already imported stay visible, so a process that imported mmdet
    first sees no difference.
    """
    hidden = [n for n in DOWNSTREAM_PACKAGES if n not in sys.modules]
    finder = _HiddenPackages(hidden)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
