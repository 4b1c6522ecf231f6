"""`import selective_mae`: what it imports, what it patches."""
import collections
import subprocess
import sys

from conftest import REPO


def _run(code):
    return subprocess.run([sys.executable, '-c', code], cwd=REPO,
                          capture_output=True, text=True, check=True).stdout


def _modules_after(code):
    out = _run(code + '\nimport sys\n'
               'print(" ".join(sorted({m.split(".")[0] '
               'for m in sys.modules})))')
    return set(out.split())


def test_import_does_not_pull_downstream_packages():
    mods = _modules_after('import selective_mae')
    assert 'selective_mae' in mods and 'mmpretrain' in mods
    assert not mods & {'mmdet', 'mmrotate', 'mmseg'}, mods & {
        'mmdet', 'mmrotate', 'mmseg'}


def test_import_leaves_collections_alone():
    out = _run('import collections, selective_mae\n'
               "print(hasattr(collections, 'Sequence'), "
               "hasattr(collections, 'Mapping'))")
    assert out.split() == ['False', 'False']


def test_mmrotate_adapter_sets_collections_aliases():
    from selective_mae.downstream import mmrotate as adapter
    assert collections.Sequence is collections.abc.Sequence
    import mmrotate.models  # noqa: F401  (does `from collections import Sequence`)
    from mmrotate.registry import MODELS
    assert MODELS.get('OrientedRPNHead') is not None
    adapter.restore_collections_aliases()  # idempotent
    assert collections.Mapping is collections.abc.Mapping


def test_checkpoint_loader_is_installed_once():
    from mmengine.runner.checkpoint import CheckpointLoader

    from selective_mae.checkpoint import (file_io,
                                          install_weights_only_loading)
    install_weights_only_loading()
    install_weights_only_loading()
    assert CheckpointLoader._get_checkpoint_loader('/x.pth') is \
        file_io.load_from_local
