"""Per-class train/test splits of scene classification data sets.

Scene classification benchmarks (AID, NWPU-RESISC45) are published as one
folder per class and evaluated at fixed train ratios: a share of every
class is used for training, the rest for testing. The splits are drawn per
class from a seed, so every run with the same seed sees the same images, and
written as list files (one ``ClassFolder/image.ext`` path per line) that
:class:`~selective_mae.datasets.SceneClassificationDataset` reads.
"""
import os
import os.path as osp
import zlib
from typing import Dict, List, Sequence, Tuple

import numpy as np

from .file_index import IMG_EXTENSIONS


def split_file_names(train_ratio: int, seed: int = 0) -> Dict[str, str]:
    """Names of the list files of one split.

    Args:
        train_ratio (int): Training share of every class, in percent.
        seed (int): Seed the split was drawn with. Defaults to 0.

    Returns:
        dict: ``{'train': 'train_tr20_seed0.txt', 'test': ...}``.
    """
    return {
        part: f'{part}_tr{train_ratio}_seed{seed}.txt'
        for part in ('train', 'test')
    }


def list_class_images(data_root: str,
                      classes: Sequence[str]) -> Dict[str, List[str]]:
    """Image files of each class folder, sorted by name.

    Args:
        data_root (str): Folder holding one sub-folder per class.
        classes (Sequence[str]): Class folder names.

    Returns:
        dict: ``{class: ['class/img1.jpg', ...]}``, paths relative to
        ``data_root``.

    Raises:
        FileNotFoundError: If a class folder is missing.
        ValueError: If a class folder holds no image.
    """
    missing = [c for c in classes if not osp.isdir(osp.join(data_root, c))]
    if missing:
        raise FileNotFoundError(
            f'class folders {missing} are missing from {data_root!r}')
    images = {}
    for cls in classes:
        names = sorted(
            n for n in os.listdir(osp.join(data_root, cls))
            if n.lower().endswith(IMG_EXTENSIONS))
        if not names:
            raise ValueError(
                f'class folder {osp.join(data_root, cls)!r} holds no image')
        images[cls] = [f'{cls}/{n}' for n in names]
    return images


def num_train_images(num_images: int, train_ratio: int) -> int:
    """Training images of a class: the ratio of its images, at least one,
    leaving at least one for testing.

    Args:
        num_images (int): Images of the class.
        train_ratio (int): Percent.

    Returns:
        int: ``round(num_images * train_ratio / 100)`` clipped to
        ``[1, num_images - 1]``.
    """
    n = int(np.floor(num_images * train_ratio / 100 + 0.5))
    return min(max(n, 1), num_images - 1)


def split_per_class(images: Dict[str, List[str]],
                    train_ratio: int,
                    seed: int = 0) -> Tuple[List[str], List[str]]:
    """Draw a train/test split per class.

    Args:
        images (dict): ``{class: sorted relative paths}``
            (:func:`list_class_images`).
        train_ratio (int): Training share of every class, in percent
            (0 < ratio < 100).
        seed (int): Seed; each class draws from
            ``default_rng([seed, crc32(class name)])``. Defaults to 0.

    Returns:
        tuple[list[str], list[str]]: Training and test paths, grouped by
        class in the order of ``images``, sorted within a class.
    """
    if not 0 < train_ratio < 100:
        raise ValueError(f'train_ratio is a percentage in (0, 100), got '
                         f'{train_ratio}')
    train, test = [], []
    for cls, paths in images.items():
        if len(paths) < 2:
            raise ValueError(f'class {cls!r} has {len(paths)} image(s); a '
                             'split needs at least 2')
        # one generator per class, so a class's split does not depend on
        # which other classes are listed
        rng = np.random.default_rng([seed, zlib.crc32(cls.encode())])
        order = rng.permutation(len(paths))
        n = num_train_images(len(paths), train_ratio)
        train += sorted(paths[i] for i in order[:n])
        test += sorted(paths[i] for i in order[n:])
    return train, test


def generate_scene_splits(data_root: str,
                          classes: Sequence[str],
                          train_ratio: int,
                          seed: int = 0,
                          out_dir: str = None) -> Dict[str, str]:
    """Write the train/test list files of one train ratio.

    Args:
        data_root (str): Folder holding one sub-folder per class.
        classes (Sequence[str]): Class folder names, in label order.
        train_ratio (int): Training share of every class, in percent.
        seed (int): Seed. Defaults to 0.
        out_dir (str, optional): Where to write. Defaults to
            ``<data_root>/splits``.

    Returns:
        dict: ``{'train': path, 'test': path}`` of the written files.
    """
    out_dir = out_dir or osp.join(data_root, 'splits')
    os.makedirs(out_dir, exist_ok=True)
    train, test = split_per_class(
        list_class_images(data_root, classes), train_ratio, seed)
    paths = {}
    for part, name in split_file_names(train_ratio, seed).items():
        paths[part] = osp.join(out_dir, name)
        with open(paths[part], 'w') as f:
            f.write('\n'.join(train if part == 'train' else test) + '\n')
    return paths
