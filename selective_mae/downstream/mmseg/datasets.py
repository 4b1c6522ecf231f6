"""Segmentation data sets of the SelectiveMAE benchmarks that mmseg lacks."""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from selective_mae.datasets.spacenet import SPACENET_V1_CLASSES


@DATASETS.register_module()
class SpaceNetV1Dataset(BaseSegDataset):
    """SpaceNet v1 building extraction: 2 classes, PNG images and labels.

    The layout of ``tools/dataset/prepare_spacenet_v1.py``:
    ``<split>/images/<chip>.png`` and ``<split>/labels/<chip>.png`` with
    0 = background, 1 = building (no label is reduced; 255 is ignored).
    Pass ``data_prefix=dict(img_path='train/images',
    seg_map_path='train/labels')`` and the like.
    """

    METAINFO = dict(
        classes=SPACENET_V1_CLASSES, palette=[[0, 0, 0], [255, 255, 255]])

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = False,
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs)
