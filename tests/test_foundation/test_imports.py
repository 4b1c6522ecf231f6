"""`import selective_mae`: what it imports, what it fixes."""
import collections
import subprocess
import sys

from conftest import REPO


def _modules_after(code):
    out = subprocess.run(
        [sys.executable, '-c', code + '\nimport sys\n'
         'print(" ".join(sorted({m.split(".")[0] for m in sys.modules})))'],
        cwd=REPO, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_import_does_not_pull_downstream_packages():
    mods = _modules_after('import selective_mae')
    assert 'selective_mae' in mods and 'mmpretrain' in mods
    assert not mods & {'mmdet', 'mmrotate', 'mmseg'}, mods & {
        'mmdet', 'mmrotate', 'mmseg'}


def test_collections_aliases_make_mmrotate_importable():
    import selective_mae  # noqa: F401
    assert collections.Sequence is collections.abc.Sequence
    import mmrotate.models  # noqa: F401  (does `from collections import Sequence`)
    from mmrotate.registry import MODELS
    assert MODELS.get('OrientedRPNHead') is not None


def test_fixes_are_idempotent():
    from selective_mae.utils import compat
    compat.apply_all()
    compat.apply_all()
    assert collections.Mapping is collections.abc.Mapping
