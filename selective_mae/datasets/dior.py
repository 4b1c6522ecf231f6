"""DIOR horizontal boxes: the published VOC-style XML files to COCO json.

DIOR (20 classes, 23,463 images of 800 x 800 px) ships one XML file per
image (``<object><name>`` + ``<bndbox>``), the image lists
``ImageSets/Main/{train,val,test}.txt`` and the image folders
``JPEGImages-trainval`` / ``JPEGImages-test``. The SelectiveMAE DIOR recipe
(mmdet Faster R-CNN, ``CocoMetric``) reads COCO json files instead:
``DIOR_trainval_coco.json`` (train + val) and ``DIOR_test_coco.json``.
:func:`dior_to_coco` writes them. Boxes are taken as stored, as mmrotate's
``DIORDataset`` reads them (no VOC one-pixel shift): COCO
``[xmin, ymin, xmax - xmin, ymax - ymin]``. Class names are lower-cased
(the files spell ``Expressway-Service-area``), the label order is
:data:`DIOR_CLASSES` (mmrotate's).
"""
import json
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional, Sequence

DIOR_CLASSES = ('airplane', 'airport', 'baseballfield', 'basketballcourt',
                'bridge', 'chimney', 'expressway-service-area',
                'expressway-toll-station', 'dam', 'golffield',
                'groundtrackfield', 'harbor', 'overpass', 'ship', 'stadium',
                'storagetank', 'tenniscourt', 'trainstation', 'vehicle',
                'windmill')

#: Where the horizontal-box XML files lie in the two published bundles:
#: DIOR-R's (both box kinds) and the original DIOR release.
HBB_ANN_SUBDIRS = ('Annotations/Horizontal Bounding Boxes', 'Annotations')

#: ``json file -> (image list files, image folder)`` of the recipe.
DIOR_COCO_SPLITS = {
    'DIOR_trainval_coco.json': (('train', 'val'), 'JPEGImages-trainval'),
    'DIOR_test_coco.json': (('test', ), 'JPEGImages-test'),
}


def find_hbb_ann_dir(data_root: str) -> str:
    """The folder of the horizontal-box XML files under ``data_root``.

    Raises:
        FileNotFoundError: If none of :data:`HBB_ANN_SUBDIRS` holds XML
            files.
    """
    for sub in HBB_ANN_SUBDIRS:
        path = osp.join(data_root, sub)
        if osp.isdir(path) and any(
                n.endswith('.xml') for n in os.listdir(path)):
            return path
    raise FileNotFoundError(
        f'no DIOR horizontal-box XML files under {data_root!r}: looked in '
        f'{list(HBB_ANN_SUBDIRS)} (pass ann_dir to name the folder)')


def parse_dior_xml(path: str) -> Dict:
    """Read one DIOR XML file.

    Args:
        path (str): The XML file.

    Returns:
        dict: ``width``, ``height`` (None when the file has no ``<size>``)
        and ``objects``, a list of ``(name, xmin, ymin, xmax, ymax)`` with
        lower-case names.

    Raises:
        ValueError: For an object without a name or a complete
            ``<bndbox>``, or a box with ``xmax <= xmin`` / ``ymax <= ymin``
            (the message names the file and the object).
    """
    root = ET.parse(path).getroot()
    size = root.find('size')
    width = height = None
    if size is not None and size.find('width') is not None:
        width = int(float(size.find('width').text))
        height = int(float(size.find('height').text))
    objects = []
    for k, obj in enumerate(root.findall('object')):
        name = obj.findtext('name')
        box = obj.find('bndbox')
        coords = [
            None if box is None else box.findtext(t)
            for t in ('xmin', 'ymin', 'xmax', 'ymax')
        ]
        if not name or None in coords:
            raise ValueError(f'{path}: object {k} has no name or no complete '
                             '<bndbox> (xmin, ymin, xmax, ymax)')
        x1, y1, x2, y2 = (float(c) for c in coords)
        if x2 <= x1 or y2 <= y1:
            raise ValueError(f'{path}: object {k} ({name}) has an empty box '
                             f'{[x1, y1, x2, y2]}')
        objects.append((name.strip().lower(), x1, y1, x2, y2))
    return dict(width=width, height=height, objects=objects)


def dior_to_coco(data_root: str,
                 image_sets: Sequence[str],
                 img_dir: str,
                 out_file: str,
                 ann_dir: Optional[str] = None,
                 classes: Sequence[str] = DIOR_CLASSES) -> Dict[str, int]:
    """Write one COCO json file for the images of some DIOR image lists.

    Args:
        data_root (str): The DIOR folder.
        image_sets (Sequence[str]): Names of ``ImageSets/Main/<name>.txt``
            lists, e.g. ``('train', 'val')``.
        img_dir (str): Image folder relative to ``data_root``; the images
            must exist (``<id>.jpg``).
        out_file (str): The json file to write.
        ann_dir (str, optional): Folder of the XML files. Defaults to
            :func:`find_hbb_ann_dir`.
        classes (Sequence[str]): Category names in label order (ids 1..N).

    Returns:
        dict: ``images``, ``annotations`` and ``empty_images`` (images
        without any object, kept: the detector's ``filter_empty_gt`` drops
        them in training, the test keeps them) counts.

    Raises:
        FileNotFoundError: For a missing list, XML or image file.
        ValueError: For a class name not in ``classes``, an image listed
            twice, or a bad XML file.
    """
    from PIL import Image
    ann_dir = ann_dir or find_hbb_ann_dir(data_root)
    cat_ids = {name: i + 1 for i, name in enumerate(classes)}
    images: List[dict] = []
    annotations: List[dict] = []
    seen = set()
    empty = 0
    for image_set in image_sets:
        list_file = osp.join(data_root, 'ImageSets', 'Main',
                             f'{image_set}.txt')
        if not osp.isfile(list_file):
            raise FileNotFoundError(f'DIOR image list {list_file!r} is '
                                    'missing')
        with open(list_file) as f:
            ids = [line.strip() for line in f if line.strip()]
        for img_id in ids:
            if img_id in seen:
                raise ValueError(f'{list_file}: image {img_id} is listed '
                                 'twice (in this or an earlier list)')
            seen.add(img_id)
            xml = osp.join(ann_dir, f'{img_id}.xml')
            if not osp.isfile(xml):
                raise FileNotFoundError(f'annotation {xml!r} of image '
                                        f'{img_id} ({list_file}) is missing')
            info = parse_dior_xml(xml)
            file_name = f'{img_id}.jpg'
            img_path = osp.join(data_root, img_dir, file_name)
            if not osp.isfile(img_path):
                raise FileNotFoundError(f'image {img_path!r} listed in '
                                        f'{list_file} is missing')
            if info['width'] is None:
                with Image.open(img_path) as im:
                    info['width'], info['height'] = im.size
            # DIOR's numeric file names as image ids (unique: listed once)
            image_id = int(img_id) if img_id.isdigit() else len(images) + 1
            images.append(
                dict(
                    id=image_id,
                    file_name=file_name,
                    width=info['width'],
                    height=info['height']))
            empty += not info['objects']
            for name, x1, y1, x2, y2 in info['objects']:
                if name not in cat_ids:
                    raise ValueError(f'{xml}: class {name!r} is not a DIOR '
                                     f'class ({list(classes)})')
                w, h = x2 - x1, y2 - y1
                annotations.append(
                    dict(
                        id=len(annotations) + 1,
                        image_id=image_id,
                        category_id=cat_ids[name],
                        bbox=[x1, y1, w, h],
                        area=w * h,
                        iscrowd=0))
    coco = dict(
        images=images,
        annotations=annotations,
        categories=[dict(id=i, name=n) for n, i in cat_ids.items()])
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    tmp = out_file + '.part'
    with open(tmp, 'w') as f:
        json.dump(coco, f)
    os.replace(tmp, out_file)
    return dict(
        images=len(images), annotations=len(annotations), empty_images=empty)
