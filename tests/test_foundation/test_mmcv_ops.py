"""The compiled mmcv ops that rotated detection needs run on the CPU and give
the values their definitions imply."""
import math

import pytest
import torch


def test_box_iou_rotated_matches_axis_aligned_formula():
    from mmcv.ops import box_iou_rotated
    # (cx, cy, w, h, angle); angle 0 is an axis-aligned box.
    a = torch.tensor([[10., 10., 8., 4., 0.], [0., 0., 2., 2., 0.]])
    b = torch.tensor([[12., 10., 8., 4., 0.], [0., 0., 2., 2., math.pi / 2]])
    iou = box_iou_rotated(a, b, aligned=True)
    # first pair: overlap 6 x 4 = 24, union 32 + 32 - 24 = 40
    assert iou[0].item() == pytest.approx(24 / 40, abs=1e-5)
    # a square rotated by 90 degrees is the same square
    assert iou[1].item() == pytest.approx(1.0, abs=1e-5)
    # 45 degrees: octagon overlap of two 2 x 2 squares = 8 (sqrt 2 - 1)
    c = torch.tensor([[0., 0., 2., 2., math.pi / 4]])
    iou45 = box_iou_rotated(a[1:], c, aligned=True)[0].item()
    inter = 8 * (math.sqrt(2) - 1)
    assert iou45 == pytest.approx(inter / (8 - inter), abs=1e-4)


def test_nms_rotated_suppresses_overlaps_only():
    from mmcv.ops import nms_rotated
    boxes = torch.tensor([[10., 10., 8., 4., 0.3], [10., 10.5, 8., 4., 0.3],
                          [40., 40., 8., 4., 1.0]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = nms_rotated(boxes, scores, 0.5)
    assert keep.tolist() == [0, 2]
    assert dets[:, -1].tolist() == pytest.approx([0.9, 0.7])


def test_roi_align_rotated_on_a_constant_and_a_ramp():
    from mmcv.ops import RoIAlignRotated
    op = RoIAlignRotated(output_size=(2, 2), spatial_scale=1.0,
                         sampling_ratio=2, clockwise=False)
    const = torch.full((1, 3, 16, 16), 5.0)
    rois = torch.tensor([[0., 8., 8., 6., 4., 0.7]])  # (idx, cx, cy, w, h, a)
    out = op(const, rois)
    assert out.shape == (1, 3, 2, 2)
    assert torch.allclose(out, torch.full_like(out, 5.0))
    # feature = x coordinate; an axis-aligned roi samples bin centres
    ramp = torch.arange(16.).expand(1, 1, 16, 16).contiguous()
    out = op(ramp, torch.tensor([[0., 8.5, 8.5, 8., 8., 0.]]))
    # bins span x in [4.5, 8.5] and [8.5, 12.5]; pixel centres are at
    # integer + 0.5 in mmcv's aligned convention, so mean x - 0.5
    assert out[0, 0, 0].tolist() == pytest.approx([6.0, 10.0], abs=1e-4)
