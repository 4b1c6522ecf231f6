"""Install the selective_mae plugin (``pip install -e .``).

mmcv 2.0.1 has no wheel for torch 2.14 on PyPI and must be compiled; use
``bash tools/install.sh`` to set up the whole stack. This file only lists the
pure-Python requirements, so ``pip install -e .`` never triggers an mmcv or a
torch build by itself.
"""
import os.path as osp
import re

from setuptools import find_packages, setup

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
    zip_safe=False,
)
