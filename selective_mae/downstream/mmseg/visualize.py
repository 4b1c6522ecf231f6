"""Colour-coded segmentation masks."""
from typing import Sequence

import numpy as np


def colorize_mask(mask: np.ndarray,
                  palette: Sequence[Sequence[int]],
                  ignore_color: Sequence[int] = (0, 0, 0)) -> np.ndarray:
    """Map class indices to RGB colours.

    Args:
        mask (ndarray): Class index per pixel, shape [H, W], integer.
        palette (Sequence[Sequence[int]]): RGB colour per class.
        ignore_color (Sequence[int]): RGB for indices outside the palette
            (e.g. 255). Defaults to black.

    Returns:
        ndarray: RGB image, shape [H, W, 3], uint8.
    """
    lut = np.tile(np.asarray(ignore_color, np.uint8), (256, 1))
    lut[:len(palette)] = np.asarray(palette, np.uint8)
    return lut[np.clip(mask, 0, 255).astype(np.uint8)]


def overlay_mask(image_rgb: np.ndarray, color_mask: np.ndarray,
                 alpha: float = 0.5) -> np.ndarray:
    """Blend a colour mask over an image.

    Args:
        image_rgb (ndarray): RGB image, shape [H, W, 3], uint8.
        color_mask (ndarray): RGB mask, same shape.
        alpha (float): Mask weight. Defaults to 0.5.

    Returns:
        ndarray: RGB image, shape [H, W, 3], uint8.
    """
    blend = (1 - alpha) * image_rgb.astype(np.float32) + \
        alpha * color_mask.astype(np.float32)
    return np.clip(blend + 0.5, 0, 255).astype(np.uint8)
