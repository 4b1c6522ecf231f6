"""Helpers for tests and dry runs: fake data sets in real on-disk formats."""
from .fake_data import (DOTA_CLASSES, POTSDAM_LABELS, make_dior_dataset,
                        make_dota_dataset, make_potsdam_dataset)

__all__ = [
    'DOTA_CLASSES', 'POTSDAM_LABELS', 'make_dior_dataset',
    'make_dota_dataset', 'make_potsdam_dataset'
]
