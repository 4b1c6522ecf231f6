"""Draw oriented detections on an image."""
from typing import Optional, Sequence

import cv2
import numpy as np
import torch


def rotated_boxes_to_corners(boxes: torch.Tensor) -> np.ndarray:
    """Corners of ``(cx, cy, w, h, angle)`` boxes (angle in radians).

    Args:
        boxes (Tensor): Shape [N, 5].

    Returns:
        ndarray: Shape [N, 4, 2], float32, corner order as mmrotate's
        ``RotatedBoxes.rbox2corner``.
    """
    from mmrotate.structures.bbox import RotatedBoxes
    boxes = torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 5)
    return RotatedBoxes.rbox2corner(boxes).cpu().numpy()


def draw_rotated_boxes(image: np.ndarray,
                       boxes: torch.Tensor,
                       labels: torch.Tensor,
                       scores: torch.Tensor,
                       class_names: Sequence[str],
                       palette: Optional[Sequence[Sequence[int]]] = None,
                       score_thr: float = 0.3,
                       thickness: int = 2) -> np.ndarray:
    """Draw boxes with class names and scores on a copy of ``image``.

    Args:
        image (ndarray): BGR image, shape [H, W, 3], uint8.
        boxes (Tensor): ``(cx, cy, w, h, angle)`` boxes, shape [N, 5].
        labels (Tensor): Class indices, shape [N].
        scores (Tensor): Scores, shape [N].
        class_names (Sequence[str]): Name per class index.
        palette (Sequence[Sequence[int]], optional): RGB colour per class.
            Defaults to a fixed pseudo-random palette.
        score_thr (float): Boxes below this score are skipped.
            Defaults to 0.3.
        thickness (int): Line width in pixels. Defaults to 2.

    Returns:
        ndarray: The drawn BGR image.
    """
    out = np.ascontiguousarray(image.copy())
    if palette is None or isinstance(palette, str):
        rng = np.random.RandomState(42)
        palette = rng.randint(0, 255, size=(len(class_names), 3)).tolist()
    keep = torch.as_tensor(scores).reshape(-1) >= score_thr
    corners = rotated_boxes_to_corners(torch.as_tensor(boxes)[keep])
    labels = torch.as_tensor(labels)[keep].tolist()
    scores = torch.as_tensor(scores)[keep].tolist()
    for pts, label, score in zip(corners, labels, scores):
        r, g, b = palette[label % len(palette)]
        color = (int(b), int(g), int(r))
        cv2.polylines(out, [np.round(pts).astype(np.int32)], True, color,
                      thickness, cv2.LINE_AA)
        x, y = np.round(pts.min(axis=0)).astype(int)
        cv2.putText(out, f'{class_names[label]} {score:.2f}',
                    (int(x), max(int(y) - 3, 10)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4, color, 1, cv2.LINE_AA)
    return out
