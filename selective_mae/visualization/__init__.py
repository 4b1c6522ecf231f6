"""Figures of what the models do (matplotlib is imported only when drawing).
"""
from .psts_figure import (analyse_psts, build_psts_model,  # noqa: F401
                          draw_psts, draw_psts_scenes, image_normalisation,
                          load_image)
