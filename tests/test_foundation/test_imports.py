"""`import selective_mae`: what it imports, what it patches."""
import collections
import subprocess
import sys

import pytest
from conftest import REPO


@pytest.fixture(scope='module')
def fresh_import():
    """What a fresh ``import selective_mae`` leaves behind: the top-level
    modules imported and whether ``collections`` has its old aliases."""
    code = ('import collections, sys, selective_mae\n'
            "print(hasattr(collections, 'Sequence'), "
            "hasattr(collections, 'Mapping'))\n"
            'print(" ".join(sorted({m.split(".")[0] for m in sys.modules})))')
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO,
                         capture_output=True, text=True,
                         check=True).stdout.splitlines()
    return out[-2].split(), set(out[-1].split())


def test_import_does_not_pull_downstream_packages(fresh_import):
    _, mods = fresh_import
    assert 'selective_mae' in mods and 'mmpretrain' in mods
    assert not mods & {'mmdet', 'mmrotate', 'mmseg'}, mods & {
        'mmdet', 'mmrotate', 'mmseg'}


def test_import_leaves_collections_alone(fresh_import):
    aliases, _ = fresh_import
    assert aliases == ['False', 'False']


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
