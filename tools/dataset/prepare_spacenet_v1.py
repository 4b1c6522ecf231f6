"""Turn SpaceNet v1 chips and building footprints into PNG images and labels.

Input: the 3-band GeoTIFF chips (``3band/3band_AOI_1_RIO_img<N>.tif``) and
their footprints (``vectordata/geojson/Geo_AOI_1_RIO_img<N>.geojson``) of
SpaceNet v1's training set, paired by chip number. Output, as
``configs/spacenet/*spacenetv1*.py`` read it::

    <out>/{train,val}/images/<chip>.png   RGB
    <out>/{train,val}/labels/<chip>.png   0 background, 1 building
    <out>/splits/{train,val}.txt          chip names of each split

A pixel is a building pixel when its centre lies inside a footprint (GDAL's
and rasterio's default rule)::

    python tools/dataset/prepare_spacenet_v1.py \\
        data/spacenet_raw/3band data/spacenet_raw/vectordata/geojson \\
        data/spacenetv1 --val-ratio 0.2 --seed 0
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('image_dir', help='folder of the 3-band *.tif chips')
    parser.add_argument('geojson_dir', help='folder of the *.geojson files')
    parser.add_argument('out_dir', help='output root')
    parser.add_argument(
        '--val-ratio',
        type=float,
        default=0.2,
        help='share of the chips in val (default 0.2)')
    parser.add_argument('--seed', type=int, default=0, help='split seed')
    parser.add_argument(
        '--skip-unpaired',
        action='store_true',
        help='leave out (and count) chips without a GeoJSON file instead of '
        'failing')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from selective_mae.datasets.spacenet import prepare_spacenet_v1
    counts = prepare_spacenet_v1(args.image_dir, args.geojson_dir,
                                 args.out_dir, args.val_ratio, args.seed,
                                 args.skip_unpaired)
    print(f'{counts["train"]} train and {counts["val"]} val chips written '
          f'to {args.out_dir}; {counts["buildings"]} footprints, '
          f'{counts["building_pixels"]} building pixels; '
          f'{counts["unused_polygons"]} footprints cover no pixel centre, '
          f'{counts["repaired_polygons"]} invalid ones were repaired; '
          f'{counts["unpaired"]} chips without GeoJSON left out')


if __name__ == '__main__':
    main()
