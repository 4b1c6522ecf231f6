"""Helpers for tests and dry runs: fake data sets in real on-disk formats."""
from .fake_data import (DOTA_CLASSES, POTSDAM_LABELS, SPACENET_ORIGIN,
                        SPACENET_PIXEL_DEG, make_dior_dataset,
                        make_dota_dataset, make_potsdam_dataset,
                        make_seg_batch, make_spacenet_v1_raw)
from .shape_data import (DOTA_SHAPE_CLASSES, dota_shape_scene,
                         make_dota_shapes, make_potsdam_shapes,
                         potsdam_shape_scene)

__all__ = [
    'DOTA_CLASSES', 'DOTA_SHAPE_CLASSES', 'POTSDAM_LABELS', 'SPACENET_ORIGIN',
    'SPACENET_PIXEL_DEG', 'make_dior_dataset', 'make_dota_dataset',
    'make_potsdam_dataset', 'make_seg_batch', 'make_spacenet_v1_raw',
    'make_potsdam_shapes', 'make_dota_shapes', 'potsdam_shape_scene',
    'dota_shape_scene'
]
