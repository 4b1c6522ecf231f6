"""Data set curation: exclusion, slicing and near-duplicate removal.

The steps the SelectiveMAE authors used to build OpticalRS-13M from public
archives, as one resumable pass (``tools/dataset/curate_rs.py`` is the
command line):

1. **Exclusion.** Unreadable sources and sources whose shorter side is below
   ``min_size`` are left out (and listed in the summary).
2. **Slicing.** A source larger than ``tile_size`` is cut into
   ``tile_size`` x ``tile_size`` tiles every ``stride`` pixels; the last row
   and column of tiles are aligned to the image border so the whole scene is
   covered. A source no larger than ``tile_size`` is one tile as it is.
3. **Near-uniform tiles** (no-data borders, clouds, open sea) are dropped:
   the grey-level standard deviation is below ``std_threshold``, or more
   than ``nodata_fraction`` of the pixels have every band equal to a no-data
   value (0 or 255).
4. **Near duplicates** are dropped: each tile gets a 64-bit perceptual hash
   (DCT hash: 32 x 32 grey thumbnail, 2-D DCT, the 8 x 8 lowest frequencies
   compared with their median); a tile within ``hash_threshold`` bits
   (Hamming distance) of an already kept tile is a duplicate. Lookup is
   sub-linear: by the pigeonhole principle two hashes within ``t`` bits agree
   exactly on at least one of ``t + 1`` bit bands, so only tiles sharing a
   band value are compared.

Sources are processed in sorted order, so the result does not depend on the
file system's listing order. Every source's outcome is appended to a journal
(``curation_journal.jsonl``) after its tiles are written (atomically), so an
interrupted run, started again with the same arguments, continues where it
stopped and ends with the same result.
"""
import json
import os
import os.path as osp

import numpy as np
from PIL import Image

from .file_index import scan_images
from .image_io import CorruptImageError, read_rs_image

JOURNAL = 'curation_journal.jsonl'
INDEX = 'index.txt'
SUMMARY = 'curation_summary.json'


def tile_starts(length, tile_size, stride):
    """Start offsets of tiles along one axis, covering the whole length.

    Args:
        length (int): Image size along the axis.
        tile_size (int): Tile size.
        stride (int): Step between tiles.

    Returns:
        list[int]: Offsets; the last tile ends at ``length``. ``[0]`` when
        ``length <= tile_size``.
    """
    if length <= tile_size:
        return [0]
    starts = list(range(0, length - tile_size + 1, stride))
    if starts[-1] + tile_size < length:
        starts.append(length - tile_size)
    return starts


def _dct_matrix(n):
    k = np.arange(n)[:, None]
    i = np.arange(n)[None]
    return np.cos(np.pi * (2 * i + 1) * k / (2 * n))


_DCT32 = _dct_matrix(32)


def perceptual_hash(img):
    """64-bit DCT perceptual hash.

    Args:
        img (np.ndarray): uint8 (H, W, 3) or (H, W) image.

    Returns:
        int: The hash; nearby images have hashes a few bits apart.
    """
    gray = Image.fromarray(img).convert('L').resize((32, 32), Image.BOX)
    dct = _DCT32 @ np.asarray(gray, np.float64) @ _DCT32.T
    low = dct[:8, :8].flatten()
    bits = low > np.median(low[1:])
    return int(np.packbits(bits).view('>u8')[0])


def hamming(a, b):
    """Number of differing bits of two hashes."""
    return (a ^ b).bit_count()


class HashIndex:
    """Set of 64-bit hashes answering "is any within ``threshold`` bits?".

    Args:
        threshold (int): Largest Hamming distance counted as a duplicate.
    """

    def __init__(self, threshold):
        if not 0 <= threshold < 64:
            raise ValueError(f'hash threshold must be in [0, 63], got '
                             f'{threshold}')
        self.threshold = threshold
        n_bands = threshold + 1
        edges = [64 * b // n_bands for b in range(n_bands + 1)]
        self.masks = [((1 << (hi - lo)) - 1) << lo
                      for lo, hi in zip(edges[:-1], edges[1:])]
        self.tables = [dict() for _ in self.masks]
        self.hashes = []

    def find(self, h):
        """Index of a stored hash within the threshold, or None."""
        for mask, table in zip(self.masks, self.tables):
            for j in table.get(h & mask, ()):
                if hamming(self.hashes[j], h) <= self.threshold:
                    return j
        return None

    def add(self, h):
        """Store a hash."""
        j = len(self.hashes)
        self.hashes.append(h)
        for mask, table in zip(self.masks, self.tables):
            table.setdefault(h & mask, []).append(j)


def is_near_uniform(tile,
                    std_threshold=3.0,
                    nodata_fraction=0.5,
                    nodata_values=(0, 255)):
    """Whether a tile is (mostly) featureless.

    Args:
        tile (np.ndarray): uint8 (H, W, 3) tile.
        std_threshold (float): Grey-level standard deviation below which
            the tile counts as uniform.
        nodata_fraction (float): Share of no-data pixels above which the
            tile is dropped.
        nodata_values (tuple[int]): Values that mark no-data when all bands
            of a pixel hold them.

    Returns:
        bool: True if the tile should be dropped.
    """
    gray = tile.astype(np.float32) @ np.array([0.299, 0.587, 0.114],
                                              np.float32)
    if gray.std() < std_threshold:
        return True
    nodata = np.zeros(tile.shape[:2], bool)
    for v in nodata_values:
        nodata |= (tile == v).all(axis=2)
    return nodata.mean() > nodata_fraction


def _read_journal(path):
    records = []
    if not osp.isfile(path):
        return records
    with open(path) as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a line cut by an interruption: redo that source
    # Rewrite without a cut tail so appends start on a fresh line.
    with open(path, 'w') as f:
        f.writelines(json.dumps(r) + '\n' for r in records)
    return records


def curate(src,
           out_dir,
           tile_size=512,
           stride=None,
           min_size=64,
           hash_threshold=4,
           std_threshold=3.0,
           nodata_fraction=0.5,
           tile_format='png',
           progress=True):
    """Exclude, slice and deduplicate the images under ``src``.

    Args:
        src (str): Folder of source images (any depth).
        out_dir (str): Output folder: tiles under ``tiles/``, the index
            ``index.txt`` (tile paths relative to ``out_dir``), the journal
            and ``curation_summary.json``.
        tile_size (int): Tile side in pixels.
        stride (int, optional): Step between tiles; ``tile_size`` (no
            overlap) when None.
        min_size (int): Sources with a shorter side below this are excluded.
        hash_threshold (int): Hamming distance up to which two tiles are
            duplicates; -1 turns deduplication off.
        std_threshold (float): See :func:`is_near_uniform`.
        nodata_fraction (float): See :func:`is_near_uniform`.
        tile_format (str): 'png' or 'jpg' (quality 95).
        progress (bool): Show a progress bar.

    Returns:
        dict: Summary counts (``sources``, ``excluded_small``,
        ``unreadable``, ``tiles_total``, ``uniform``, ``duplicates``,
        ``kept``) and the ``unreadable_files`` list.
    """
    if tile_format not in ('png', 'jpg'):
        raise ValueError(f"tile_format must be 'png' or 'jpg', got "
                         f'{tile_format!r}')
    stride = stride or tile_size
    sources = scan_images(src, progress=False)
    os.makedirs(out_dir, exist_ok=True)
    journal_path = osp.join(out_dir, JOURNAL)
    records = _read_journal(journal_path)
    done = {r['src'] for r in records}
    index = HashIndex(hash_threshold) if hash_threshold >= 0 else None
    for r in records:
        for _, h in r['tiles']:
            if index is not None:
                index.add(int(h, 16))
    todo = [s for s in sources if s not in done]
    bar = None
    if progress and todo:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(todo))
    with open(journal_path, 'a') as journal:
        for rel in todo:
            rec = dict(
                src=rel,
                tiles=[],
                uniform=0,
                duplicates=0,
                tiles_total=0,
                excluded=None)
            try:
                img, _ = read_rs_image(osp.join(src, rel))
            except CorruptImageError as e:
                rec['excluded'] = f'unreadable: {e.reason}'
                img = None
            if img is not None and min(img.shape[:2]) < min_size:
                rec['excluded'] = f'small: {img.shape[1]}x{img.shape[0]}'
            if rec['excluded'] is None:
                _slice_source(img, rel, out_dir, tile_size, stride, index, rec,
                              std_threshold, nodata_fraction, tile_format)
            journal.write(json.dumps(rec) + '\n')
            journal.flush()
            records.append(rec)
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.file.write('\n')
    kept = [t for r in records for t, _ in r['tiles']]
    tmp = osp.join(out_dir, INDEX + '.tmp')
    with open(tmp, 'w') as f:
        f.write(''.join(t + '\n' for t in kept))
    os.replace(tmp, osp.join(out_dir, INDEX))
    excluded = [r for r in records if r['excluded']]
    summary = dict(
        sources=len(records),
        excluded_small=sum(r['excluded'].startswith('small')
                           for r in excluded),
        unreadable=sum(r['excluded'].startswith('unreadable')
                       for r in excluded),
        tiles_total=sum(r['tiles_total'] for r in records),
        uniform=sum(r['uniform'] for r in records),
        duplicates=sum(r['duplicates'] for r in records),
        kept=len(kept),
        unreadable_files=[
            r['src'] for r in excluded if r['excluded'].startswith('unr')
        ])
    with open(osp.join(out_dir, SUMMARY), 'w') as f:
        json.dump(summary, f, indent=1)
    return summary


def _slice_source(img, rel, out_dir, tile_size, stride, index, rec,
                  std_threshold, nodata_fraction, tile_format):
    h, w = img.shape[:2]
    stem = osp.splitext(rel)[0]
    for y in tile_starts(h, tile_size, stride):
        for x in tile_starts(w, tile_size, stride):
            tile = img[y:y + tile_size, x:x + tile_size]
            rec['tiles_total'] += 1
            if is_near_uniform(tile, std_threshold, nodata_fraction):
                rec['uniform'] += 1
                continue
            hsh = perceptual_hash(tile)
            if index is not None:
                if index.find(hsh) is not None:
                    rec['duplicates'] += 1
                    continue
                index.add(hsh)
            tile_rel = osp.join('tiles', f'{stem}_{y}_{x}.{tile_format}')
            path = osp.join(out_dir, tile_rel)
            os.makedirs(osp.dirname(path), exist_ok=True)
            tmp = f'{path}.tmp'
            fmt = dict(png='PNG', jpg='JPEG')[tile_format]
            Image.fromarray(tile).save(
                tmp, format=fmt, **(dict(quality=95) if fmt == 'JPEG' else {}))
            os.replace(tmp, path)
            rec['tiles'].append([tile_rel, f'{hsh:016x}'])
