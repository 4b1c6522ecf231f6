"""DIOR with horizontal boxes in COCO json, for mmdet."""
import json
from typing import List

from mmengine.fileio import get_local_path

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from selective_mae.datasets.dior import DIOR_CLASSES

# mmrotate's DIORDataset palette, so both DIOR tasks draw alike
DIOR_PALETTE = [(220, 20, 60), (119, 11, 32), (0, 0, 142), (0, 0, 230),
                (106, 0, 228), (0, 60, 100), (0, 80, 100), (0, 0, 70),
                (0, 0, 192), (250, 170, 30), (100, 170, 30), (220, 220, 0),
                (175, 116, 175), (250, 0, 30), (165, 42, 42), (255, 77, 255),
                (0, 226, 252), (182, 182, 255), (0, 82, 0), (120, 166, 157)]


@DATASETS.register_module()
class DIORCocoDataset(CocoDataset):
    """DIOR (20 classes, horizontal boxes) from COCO json files.

    ``CocoDataset`` with DIOR's classes (mmrotate's names and order), as
    written by ``tools/dataset/dior_to_coco.py``. A json file that lacks
    some of the classes raises an error naming them (``CocoDataset`` alone
    would train on the found ones and say nothing).
    """

    METAINFO = dict(classes=DIOR_CLASSES, palette=DIOR_PALETTE)

    def load_data_list(self) -> List[dict]:
        """``CocoDataset.load_data_list`` plus the category check."""
        data_list = super().load_data_list()
        classes = list(self.metainfo['classes'])
        if len(self.cat_ids) != len(classes):
            with get_local_path(
                    self.ann_file, backend_args=self.backend_args) as path:
                with open(path) as f:
                    names = [c['name'] for c in json.load(f)['categories']]
            missing = [c for c in classes if c not in names]
            raise ValueError(
                f'{self.ann_file}: categories {missing} of '
                f'{type(self).__name__} are missing (the file has {names}); '
                'write the files with tools/dataset/dior_to_coco.py')
        return data_list
