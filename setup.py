"""Install the selective_mae plugin (``pip install -e .``, ``pip install .``
or a wheel from ``pip wheel .``).

mmcv 2.0.1 has no wheel for torch 2.14 on PyPI and must be compiled; use
``bash tools/install.sh`` to set up the whole stack. This file only lists the
pure-Python requirements, so installing the plugin never triggers an mmcv or
a torch build by itself.

Like mmpretrain's own ``setup.py`` (``add_mim_extension``), a non-editable
build ships the configs, ``model-index.yml`` (with every ``metafile.yml``
under the configs) and the tools inside the package, in
``selective_mae/.mim/``: ``mmpretrain.list_models('selectivemae*')``,
``get_model`` and ``Config.fromfile`` on a packaged config then work from any
directory. Unlike mmpretrain's, the copy is made in the build directory, never
in the source tree, so a checkout never holds a stale ``.mim``. An editable
install needs none: the package finds the checkout's files beside it.
"""
import os
import os.path as osp
import re
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))


def read_version():
    with open(osp.join(HERE, 'selective_mae', 'version.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


def parse_requirements(name):
    """Read the exact pins of ``requirements/<name>.txt``."""
    reqs = []
    with open(osp.join(HERE, 'requirements', name)) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-r'):
                reqs.append(line)
    return reqs


# what selective_mae/.mim holds in a built package
MIM_FILES = ('configs', 'tools', 'model-index.yml')


class BuildPyWithMim(build_py):
    """``build_py`` that also copies :data:`MIM_FILES` into
    ``<build_lib>/selective_mae/.mim`` (not for editable installs)."""

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        target = osp.join(self.build_lib, 'selective_mae', '.mim')
        if osp.isdir(target):
            shutil.rmtree(target)
        os.makedirs(target)
        ignore = shutil.ignore_patterns('__pycache__', '*.pyc')
        for name in MIM_FILES:
            src = osp.join(HERE, name)
            if not osp.exists(src):
                raise FileNotFoundError(
                    f'setup.py: {src} is missing; a built selective_mae '
                    f'must ship it in selective_mae/.mim (is this an sdist '
                    f'without MANIFEST.in?)')
            if osp.isdir(src):
                shutil.copytree(src, osp.join(target, name), ignore=ignore)
            else:
                shutil.copy2(src, osp.join(target, name))


setup(
    name='selective_mae',
    version=read_version(),
    description='SelectiveMAE: efficient masked image modeling for remote '
    'sensing, as an OpenMMLab (mmpretrain / mmrotate / mmseg) plugin',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
    include_package_data=True,
    python_requires='>=3.9',
    install_requires=parse_requirements('runtime.txt'),
    extras_require={
        'downstream': parse_requirements('downstream.txt'),
        'tests': parse_requirements('tests.txt'),
        'mim': parse_requirements('mminstall.txt'),
    },
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
    cmdclass={'build_py': BuildPyWithMim},
    zip_safe=False,
)
