"""Shared helpers of the checkpoint converters (not a public API)."""
import os
import os.path as osp
import sys

import torch

try:
    import selective_mae  # noqa: F401
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def fail_on_unmatched(unmatched, what, allow):
    """Print the keys that were not converted; exit unless allowed."""
    if not unmatched:
        return
    names = '\n  '.join(unmatched)
    if allow:
        print(f'Left out {len(unmatched)} keys ({what}):\n  {names}')
        return
    sys.exit(f'error: {len(unmatched)} keys match no known layout ({what}); '
             f'nothing was written:\n  {names}\n'
             'Pass --backbone-only to keep the encoder alone, or '
             '--allow-unmatched to write the file without these keys.')


def save_atomic(obj, dst):
    """Write with torch.save to a temporary name, then rename."""
    dst = osp.abspath(dst)
    os.makedirs(osp.dirname(dst), exist_ok=True)
    tmp = dst + '.part'
    torch.save(obj, tmp)
    os.replace(tmp, dst)
    print(f'Saved {dst}')
