"""The environment matches the pins, and the installer is idempotent."""
import importlib.metadata as md
import os.path as osp
import re
import sys

import pytest

from conftest import REPO


def _pins(name):
    pins = {}
    for line in open(osp.join(REPO, 'requirements', name)):
        line = line.split('#', 1)[0].strip()
        if '==' in line:
            pkg, ver = line.split('==')
            pins[pkg.strip()] = ver.strip()
    return pins


@pytest.mark.parametrize('name', ['torch.txt', 'mminstall.txt',
                                  'runtime.txt', 'downstream.txt'])
def test_installed_versions_match_the_pins(name):
    for pkg, ver in _pins(name).items():
        assert md.version(pkg).split('+')[0] == ver, pkg


def test_constraints_agree_with_the_direct_pins():
    constraints = _pins('constraints.txt')
    for name in ('runtime.txt', 'downstream.txt', 'tests.txt'):
        for pkg, ver in _pins(name).items():
            assert constraints.get(pkg.lower(), ver) == ver, pkg


def test_second_install_run_is_a_quick_no_op(tool):
    stamp = osp.join(sys.prefix, '.selective_mae_install')
    if not osp.isfile(stamp):
        pytest.skip('this environment was not made by tools/install.sh; '
                    'running it here would install into it')
    out = tool(['tools/install.sh'], env=dict(VENV=sys.prefix)).stdout
    # the fast path: nothing reinstalled, nothing compiled
    assert re.search(r'up to date', out), out
    assert '2/6' not in out and 'compiling' not in out
