"""Remote-sensing scene classification data sets (AID, NWPU-RESISC45,
UC Merced).

Both are published as one folder per class under the data root. A split is a
list file of ``ClassFolder/image.ext`` paths (optionally followed by the
label index), written per class and train ratio by
``tools/dataset/make_scene_splits.py``
(:func:`~selective_mae.datasets.scene_splits.generate_scene_splits`) or
supplied by the user. The label of an image is the index of its folder in
the data set's class list.
"""
import os.path as osp
from typing import Optional

from mmengine.fileio import list_from_file
from mmpretrain.datasets import CustomDataset
from mmpretrain.registry import DATASETS

from .scene_splits import split_file_names

AID_CLASSES = ('Airport', 'BareLand', 'BaseballField', 'Beach', 'Bridge',
               'Center', 'Church', 'Commercial', 'DenseResidential', 'Desert',
               'Farmland', 'Forest', 'Industrial', 'Meadow',
               'MediumResidential', 'Mountain', 'Park', 'Parking',
               'Playground', 'Pond', 'Port', 'RailwayStation', 'Resort',
               'River', 'School', 'SparseResidential', 'Square', 'Stadium',
               'StorageTanks', 'Viaduct')

RESISC45_CLASSES = ('airplane', 'airport', 'baseball_diamond',
                    'basketball_court', 'beach', 'bridge', 'chaparral',
                    'church', 'circular_farmland', 'cloud', 'commercial_area',
                    'dense_residential', 'desert', 'forest', 'freeway',
                    'golf_course', 'ground_track_field', 'harbor',
                    'industrial_area', 'intersection', 'island', 'lake',
                    'meadow', 'medium_residential', 'mobile_home_park',
                    'mountain', 'overpass', 'palace', 'parking_lot', 'railway',
                    'railway_station', 'rectangular_farmland', 'river',
                    'roundabout', 'runway', 'sea_ice', 'ship', 'snowberg',
                    'sparse_residential', 'stadium', 'storage_tank',
                    'tennis_court', 'terrace', 'thermal_power_station',
                    'wetland')

# UC Merced Land Use: the folder names of its ``Images/`` directory
UCM_CLASSES = ('agricultural', 'airplane', 'baseballdiamond', 'beach',
               'buildings', 'chaparral', 'denseresidential', 'forest',
               'freeway', 'golfcourse', 'harbor', 'intersection',
               'mediumresidential', 'mobilehomepark', 'overpass',
               'parkinglot', 'river', 'runway', 'sparseresidential',
               'storagetanks', 'tenniscourt')


@DATASETS.register_module()
class SceneClassificationDataset(CustomDataset):
    """A class-folder scene data set read through split list files.

    Args:
        data_root (str): Folder holding one sub-folder per class.
        split (str): ``'train'``, or ``'test'`` / ``'val'`` (the protocols
            have no separate validation set). Selects the list file when
            ``ann_file`` is not given. Defaults to ``'train'``.
        train_ratio (int, optional): Training share per class in percent;
            with ``split`` and ``split_seed`` it names the list file
            ``<split_dir>/<split>_tr<ratio>_seed<seed>.txt``.
        split_seed (int): Seed of the split. Defaults to 0.
        split_dir (str): Folder of the list files, relative to
            ``data_root``. Defaults to ``'splits'``.
        ann_file (str): A list file to use instead (yours, for example).
        metainfo (dict, optional): ``dict(classes=...)`` to use a subset or
            another order of class folders.
        allow_empty_classes (bool): Accept classes with no image in the list
            file. Defaults to False.
        **kwargs: Other ``CustomDataset`` arguments (``pipeline``,
            ``data_prefix``, ...).
    """

    METAINFO = {'classes': ()}

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 train_ratio: Optional[int] = None,
                 split_seed: int = 0,
                 split_dir: str = 'splits',
                 ann_file: str = '',
                 allow_empty_classes: bool = False,
                 **kwargs):
        if split not in ('train', 'val', 'test'):
            raise ValueError(f"split must be 'train', 'val' or 'test', got "
                             f'{split!r}')
        if not ann_file:
            if train_ratio is None:
                raise ValueError(
                    f'{type(self).__name__}: give `ann_file` (a list file) '
                    'or `train_ratio` (percent) to select a generated split')
            part = 'train' if split == 'train' else 'test'
            ann_file = osp.join(
                split_dir,
                split_file_names(train_ratio, split_seed)[part])
        self.split = split
        self.allow_empty_classes = allow_empty_classes
        super().__init__(
            data_root=data_root, ann_file=ann_file, with_label=True, **kwargs)

    def load_data_list(self):
        """Read the list file; labels come from the class folders.

        Returns:
            list[dict]: ``{'img_path', 'gt_label'}`` per line.

        Raises:
            FileNotFoundError: If the list file or a class folder it names is
                missing.
            ValueError: If a line names a folder that is not a class of the
                data set, gives a label that disagrees with its folder, or a
                class has no image.
        """
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'split file {self.ann_file!r} does not exist; write it with '
                '`python tools/dataset/make_scene_splits.py <data_root> '
                '--dataset <aid|resisc45|ucm> --ratios <percent>` or pass '
                'your own list as `ann_file`')
        classes = self.metainfo.get('classes') or ()
        if not classes:
            raise ValueError(f'{type(self).__name__} has no class list; set '
                             '`metainfo=dict(classes=[...])`')
        class_to_idx = {c: i for i, c in enumerate(classes)}
        data_list, seen = [], set()
        for lineno, line in enumerate(list_from_file(self.ann_file), 1):
            fields = line.split()
            if not fields:
                continue
            path = fields[0]
            folder = path.replace('\\', '/').split('/', 1)[0]
            where = f'{self.ann_file}:{lineno}'
            if folder not in class_to_idx:
                raise ValueError(
                    f'{where}: folder {folder!r} is not a class of '
                    f'{type(self).__name__} (classes: {list(classes)})')
            label = class_to_idx[folder]
            if len(fields) > 1 and int(fields[1]) != label:
                raise ValueError(
                    f'{where}: label {fields[1]} disagrees with folder '
                    f'{folder!r}, class {label}')
            if folder not in seen:
                if not osp.isdir(osp.join(self.img_prefix, folder)):
                    raise FileNotFoundError(
                        f'{where}: class folder {folder!r} is missing from '
                        f'{self.img_prefix!r}')
                seen.add(folder)
            data_list.append({
                'img_path': osp.join(self.img_prefix, path),
                'gt_label': label
            })
        empty = [c for c in classes if c not in seen]
        if empty and not self.allow_empty_classes:
            raise ValueError(
                f'classes {empty} have no image in split file '
                f'{self.ann_file!r}; fix the split or the class list '
                '(allow_empty_classes=True accepts it)')
        return data_list


@DATASETS.register_module()
class AID(SceneClassificationDataset):
    """AID: 30 classes, 10,000 images of 600 x 600 px.

    Protocol: train ratios 20% and 50%. See
    :class:`SceneClassificationDataset` for the arguments.
    """

    METAINFO = {'classes': AID_CLASSES}


@DATASETS.register_module()
class NWPURESISC45(SceneClassificationDataset):
    """NWPU-RESISC45: 45 classes, 31,500 images of 256 x 256 px.

    Protocol: train ratios 10% and 20%. See
    :class:`SceneClassificationDataset` for the arguments.
    """

    METAINFO = {'classes': RESISC45_CLASSES}


@DATASETS.register_module()
class UCMerced(SceneClassificationDataset):
    """UC Merced Land Use: 21 classes, 2,100 images of 256 x 256 px (100 per
    class, 30 cm), in the ``Images/`` folder of the archive (``data_root``).

    Protocol: train ratio 80% (the 8:2 split of CMID and most RS papers).
    See :class:`SceneClassificationDataset` for the arguments.
    """

    METAINFO = {'classes': UCM_CLASSES}
