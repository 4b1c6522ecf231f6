"""Write the COCO json files of the DIOR horizontal-box recipe.

Reads DIOR's VOC-style XML files (``Annotations/Horizontal Bounding Boxes``
of the DIOR-R bundle, or ``Annotations`` of the original release) and the
image lists ``ImageSets/Main/{train,val,test}.txt``, and writes
``DIOR_trainval_coco.json`` (train + val, images in ``JPEGImages-trainval``)
and ``DIOR_test_coco.json`` (images in ``JPEGImages-test``) into the data
root, as ``configs/dior/faster-rcnn_*_dior.py`` read them::

    python tools/dataset/dior_to_coco.py data/DIOR
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('data_root', help='the DIOR folder')
    parser.add_argument(
        '--ann-dir',
        help='folder of the horizontal-box XML files (default: the first of '
        '"Annotations/Horizontal Bounding Boxes", "Annotations" under '
        'data_root that holds XML files)')
    parser.add_argument(
        '--out-dir', help='where to write the json files (default: data_root)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from selective_mae.datasets.dior import (DIOR_COCO_SPLITS, dior_to_coco,
                                             find_hbb_ann_dir)
    ann_dir = args.ann_dir or find_hbb_ann_dir(args.data_root)
    print(f'annotations: {ann_dir}')
    for name, (image_sets, img_dir) in DIOR_COCO_SPLITS.items():
        out = osp.join(args.out_dir or args.data_root, name)
        counts = dior_to_coco(args.data_root, image_sets, img_dir, out,
                              ann_dir=ann_dir)
        print(f'{out}: {counts["images"]} images ({"+".join(image_sets)}), '
              f'{counts["annotations"]} boxes, {counts["empty_images"]} '
              'images without objects')


if __name__ == '__main__':
    main()
