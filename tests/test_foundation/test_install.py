"""The environment matches the pins, and the installer is idempotent."""
import glob
import importlib.metadata as md
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import sysconfig

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


def _cached_mmcv_wheel():
    """The mmcv wheel tools/install.sh cached for this environment, or
    None."""
    import torch
    key = (f'cp{sys.version_info[0]}{sys.version_info[1]}-torch'
           f'{torch.__version__.split("+")[0]}-cpu')
    cache = os.environ.get('SELECTIVE_MAE_CACHE') or osp.join(
        os.environ.get('XDG_CACHE_HOME') or osp.expanduser('~/.cache'),
        'selective_mae')
    wheels = sorted(glob.glob(osp.join(cache, 'wheels', key,
                                       'mmcv-2.0.1-*.whl')))
    return (key, wheels[-1]) if wheels else (key, None)


# what a scratch venv must get from tools/install.sh itself, not from the
# stack it borrows
_OWN = ('mmcv', 'selective_mae', '__editable__', 'pip', 'setuptools',
        '_distutils_hack', 'distutils-precedence', 'pkg_resources', 'wheel')


def test_install_sh_with_a_relative_venv_with_a_space_from_another_dir(
        tmp_path):
    """A relative ``VENV`` holding a space and a relative cache, called from
    a directory that is neither the repository nor the venv's: the venv is
    made where the caller meant, mmcv comes from the cached wheel (seconds),
    and the venv imports ``mmcv.ops`` and ``selective_mae``."""
    key, wheel = _cached_mmcv_wheel()
    if wheel is None:
        pytest.skip(f'no cached mmcv wheel for {key} (made by the first '
                    'tools/install.sh run)')
    caller = tmp_path / 'caller dir'
    cache = caller / 'my cache' / 'wheels' / key
    cache.mkdir(parents=True)
    try:
        os.link(wheel, cache / osp.basename(wheel))
    except OSError:  # another file system
        shutil.copy(wheel, cache)
    # The venv exists beforehand and sees this environment's torch, mmengine,
    # mmpretrain ... through a .pth (so nothing is downloaded or
    # compiled), but not mmcv nor the plugin: those must come from the
    # installer.
    venv = caller / 'venvs' / 'a venv'
    subprocess.run([sys.executable, '-m', 'venv', str(venv)], check=True)
    stack = tmp_path / 'stack'
    stack.mkdir()
    site = sysconfig.get_paths()['purelib']
    for entry in os.listdir(site):
        if entry.lower().startswith(_OWN) or entry.endswith('.pth'):
            continue
        os.symlink(osp.join(site, entry), stack / entry)
    vsite = subprocess.run(
        [str(venv / 'bin' / 'python'), '-c',
         'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
        check=True, capture_output=True, text=True).stdout.strip()
    with open(osp.join(vsite, '_borrowed_stack.pth'), 'w') as f:
        f.write(str(stack) + '\n')

    env = {k: v for k, v in os.environ.items()
           if k not in ('PYTHONPATH', 'VIRTUAL_ENV')}
    env.update(VENV='venvs/a venv', SELECTIVE_MAE_CACHE='my cache')
    proc = subprocess.run(
        ['bash', osp.join(REPO, 'tools', 'install.sh')], cwd=caller, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=600)
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:]
    assert f'reusing virtual environment {venv}' in out, out
    assert f'using the cached mmcv wheel in {cache}' in out, out
    assert 'compiling' not in out
    check = subprocess.run(
        [str(venv / 'bin' / 'python'), '-I', '-c',
         'import mmcv, mmcv.ops, selective_mae, os.path as o; '
         'print(o.realpath(mmcv.__file__)); '
         'print(o.realpath(selective_mae.__file__))'],
        cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr[-3000:]
    mmcv_file, plugin_file = check.stdout.splitlines()[-2:]
    assert mmcv_file.startswith(osp.realpath(vsite))  # from the wheel
    assert plugin_file == osp.realpath(
        osp.join(REPO, 'selective_mae', '__init__.py'))  # editable
    assert osp.isfile(venv / '.selective_mae_install')
