"""Config errors that name the key: run by ``tools/train.py`` and ``test.py``.

mmengine builds components lazily: a data root that does not exist fails
only when the data loader is first built (sometimes deep inside a worker),
and an unknown ``type`` fails with a message that names neither the config
key nor the section. :func:`check_config` runs before the runner is built;
:func:`config_key_errors` wraps the build and the run.
"""
import contextlib
import os.path as osp
import re

from mmengine.config import Config


class ConfigError(ValueError):
    """A config value that cannot work, with the key that holds it."""


def _iter_dicts(node, path):
    """Yield ``(key_path, dict)`` for every dict nested in ``node``."""
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from _iter_dicts(v, f'{path}.{k}' if path else str(k))
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _iter_dicts(v, f'{path}[{i}]')


def _dataset_dicts(cfg):
    """Yield ``(key_path, dataset_cfg)`` for the data sets of all loaders,
    wrapped data sets (``dataset``, ``datasets``) included."""
    for loader_key in ('train_dataloader', 'val_dataloader',
                       'test_dataloader'):
        loader = cfg.get(loader_key)
        if not isinstance(loader, dict) or 'dataset' not in loader:
            continue
        stack = [(f'{loader_key}.dataset', loader['dataset'])]
        while stack:
            path, ds = stack.pop()
            if not isinstance(ds, dict):
                continue
            yield path, ds
            if isinstance(ds.get('dataset'), dict):
                stack.append((f'{path}.dataset', ds['dataset']))
            for i, sub in enumerate(ds.get('datasets') or []):
                stack.append((f'{path}.datasets[{i}]', sub))


def check_data_roots(cfg):
    """Fail if a data set's ``data_root`` (or its ``ann_file``) is missing.

    Args:
        cfg (Config): The full config.

    Raises:
        ConfigError: Naming the key, e.g.
            ``train_dataloader.dataset.data_root``, and the missing path.
    """
    for path, ds in _dataset_dicts(cfg):
        root = ds.get('data_root')
        if isinstance(root, str) and root and '://' not in root \
                and not osp.isdir(root):
            raise ConfigError(
                f'{path}.data_root: the folder {root!r} does not exist '
                f'(absolute: {osp.abspath(root)!r}). Prepare the data set '
                'there or override the key, e.g. --cfg-options '
                f'{path}.data_root=/path/to/data')
        ann = ds.get('ann_file')
        if isinstance(ann, str) and ann and '://' not in ann:
            full = ann if osp.isabs(ann) or not isinstance(root, str) \
                else osp.join(root, ann)
            if not osp.exists(full):
                raise ConfigError(
                    f'{path}.ann_file: {full!r} does not exist')


_NOT_REGISTERED = re.compile(r"[`'\"]?([\w.]+)[`'\"]? is not in the "
                             r'(\S+) registry')


def type_paths(cfg, name):
    """Key paths of every ``type`` in ``cfg`` equal to ``name``.

    Args:
        cfg (Config | dict): The config.
        name (str): A type name.

    Returns:
        list[str]: e.g. ``['model.neck.type']``.
    """
    root = cfg.to_dict() if isinstance(cfg, Config) else cfg
    return [f'{p}.type' if p else 'type' for p, d in _iter_dicts(root, '')
            if d.get('type') == name]


@contextlib.contextmanager
def config_key_errors(cfg):
    """Re-raise mmengine's "X is not in the ... registry" with the keys.

    mmengine builds components lazily (data sets when the loop starts), so
    an unknown ``type`` surfaces deep in a traceback and names neither the
    config key nor the section. Inside this block such a ``KeyError`` is
    turned into a :class:`ConfigError` that names every key holding it.

    Args:
        cfg (Config): The config the block builds from.
    """
    try:
        yield
    except KeyError as e:
        match = _NOT_REGISTERED.search(str(e))
        if match is None:
            raise
        name, registry = match.groups()
        keys = ', '.join(type_paths(cfg, name)) or 'type'
        raise ConfigError(
            f'{keys}: {name!r} is not registered in the {registry} '
            'registry. Check the spelling, and that the module defining it '
            "is listed in the config's custom_imports.") from e


def check_config(cfg):
    """Run every pre-flight check on ``cfg`` (a :class:`Config`)."""
    assert isinstance(cfg, Config)
    check_data_roots(cfg)
