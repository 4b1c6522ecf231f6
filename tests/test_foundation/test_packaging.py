"""A non-editable install ships configs, tools and the model zoo in
``selective_mae/.mim`` and works from outside the checkout."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

from conftest import REPO

CHECK = r'''
import json, os, os.path as osp, sys
import mmpretrain
from mmengine import Config
import selective_mae
from mmpretrain.apis import ModelHub

pkg = osp.dirname(osp.realpath(selective_mae.__file__))
mim = osp.join(pkg, '.mim')
names = mmpretrain.list_models('selectivemae*')
name = 'selectivemae_vit-base-p16_8xb256-amp-coslr-800e_rs4m'
model = mmpretrain.get_model(name)
cfg = Config.fromfile(osp.join(
    mim, 'configs', 'selectivemae', name + '.py'))
print(json.dumps(dict(
    pkg=pkg, cwd=os.getcwd(), names=names,
    zoo_config=osp.realpath(ModelHub.get(name).config.filename),
    model=type(model).__name__,
    params=sum(p.numel() for p in model.parameters()),
    cfg_model=cfg.model.type, cfg_selector=cfg.model.get('neck', {}).get(
        'type'),
    cfg_epochs=cfg.train_cfg.max_epochs,
    mim=sorted(os.listdir(mim)))))
'''


def _tracked_copy(dst):
    """The files of the checkout that git tracks (what a clone has),
    copied to ``dst``; without git, the tree minus build and run outputs."""
    try:
        files = subprocess.run(
            ['git', 'ls-files', '-z'], cwd=REPO, check=True,
            capture_output=True).stdout.decode().split('\0')
    except (OSError, subprocess.CalledProcessError):
        files = None
    if files is None:
        shutil.copytree(REPO, dst, ignore=shutil.ignore_patterns(
            '.venv', 'work_dirs', 'data', 'build', 'dist', '*.egg-info',
            '__pycache__', '.git'))
        return
    for f in filter(None, files):
        if not osp.isfile(osp.join(REPO, f)):
            continue
        os.makedirs(osp.dirname(osp.join(dst, f)), exist_ok=True)
        shutil.copy2(osp.join(REPO, f), osp.join(dst, f))


def test_wheel_ships_the_zoo_and_configs_outside_the_checkout(tmp_path):
    src, dist, site = (tmp_path / n for n in ('src', 'dist', 'site'))
    _tracked_copy(src)
    pip = [sys.executable, '-I', '-m', 'pip', '--disable-pip-version-check']
    subprocess.run(pip + ['wheel', '-q', '--no-deps', '--no-build-isolation',
                          '--use-pep517', '-w', str(dist), str(src)],
                   check=True, capture_output=True)
    wheels = os.listdir(dist)
    assert len(wheels) == 1 and wheels[0].startswith('selective_mae-')
    # the source tree is left as it was: no .mim copy beside the package
    assert not osp.exists(src / 'selective_mae' / '.mim')
    subprocess.run(pip + ['install', '-q', '--no-deps', '--target',
                          str(site), str(dist / wheels[0])],
                   check=True, capture_output=True)

    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site), OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-c', CHECK], cwd=elsewhere,
                          env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    # the installed copy, not the checkout's
    assert r['pkg'] == osp.realpath(site / 'selective_mae')
    assert r['mim'] == ['configs', 'model-index.yml', 'tools']
    assert 'selectivemae_vit-base-p16_8xb256-amp-coslr-800e_rs4m' in \
        r['names'] and len(r['names']) >= 4
    assert r['zoo_config'].startswith(osp.join(r['pkg'], '.mim', 'configs'))
    assert r['model'] == 'SelectiveMAE' and r['params'] > 80e6
    # _base_ files (ours, relative; mmpretrain's, by scope) resolved
    assert r['cfg_model'] == 'SelectiveMAE' and r['cfg_epochs'] == 800
