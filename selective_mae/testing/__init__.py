"""Helpers for tests and dry runs: fake data sets in real on-disk formats."""
from .fake_data import (DOTA_CLASSES, POTSDAM_LABELS, SPACENET_ORIGIN,
                        SPACENET_PIXEL_DEG, make_dior_dataset,
                        make_dota_dataset, make_potsdam_dataset,
                        make_seg_batch, make_spacenet_v1_raw)

__all__ = [
    'DOTA_CLASSES', 'POTSDAM_LABELS', 'SPACENET_ORIGIN',
    'SPACENET_PIXEL_DEG', 'make_dior_dataset', 'make_dota_dataset',
    'make_potsdam_dataset', 'make_seg_batch', 'make_spacenet_v1_raw'
]
