"""Kill checkpoint saves at random moments; report what is left.

Run as ``python kill_save_loop.py OUT_DIR ROUNDS SEED [plain]``. Each round
forks a child that saves checkpoints back to back the way
AtomicCheckpointHook does (mmengine's ``save_checkpoint`` through the
``atomic_local`` backend, then ``last_checkpoint``, then the checkpoint
before the previous one is deleted), continuing from the newest complete
file like a resumed run; the parent SIGKILLs it at a random time and
inspects the folder. ``plain`` uses mmengine's in-place local backend (the
control). Prints one JSON line per round.
"""
import json
import os
import os.path as osp
import random
import signal
import sys
import time

import torch
from mmengine.runner.checkpoint import save_checkpoint

from selective_mae.engine.atomic_backend import (atomic_write,
                                                 remove_stale_temporaries)

NUMEL = 1 << 20  # 4 MB of float32 per checkpoint


def _path(out, step):
    return osp.join(out, f'iter_{step}.pth')


def _complete(path):
    """The step a checkpoint holds if it is complete and consistent."""
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
        step = ckpt['meta']['iter']
        w = ckpt['state_dict']['w']
        ok = w.numel() == NUMEL and bool((w == step).all())
        return step if ok else None
    except Exception:  # noqa: BLE001
        return None


def _saves(out, start, backend):
    step = start
    while True:
        ckpt = dict(meta=dict(iter=step),
                    state_dict=dict(w=torch.full((NUMEL, ), float(step))))
        save_checkpoint(ckpt, _path(out, step), backend_args=backend)
        marker = osp.join(out, 'last_checkpoint')
        if backend['backend'] == 'atomic_local':
            atomic_write(marker, _path(out, step))
        else:
            with open(marker, 'w') as f:
                f.write(_path(out, step))
        old = _path(out, step - 2)
        if osp.exists(old):
            os.remove(old)
        step += 1


def main():
    out, rounds, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    plain = len(sys.argv) > 4 and sys.argv[4] == 'plain'
    backend = dict(backend='local' if plain else 'atomic_local')
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    _t = time.perf_counter()
    save_checkpoint(dict(meta=dict(iter=0),
                         state_dict=dict(w=torch.zeros(NUMEL))),
                    _path(out, 0), backend_args=backend)
    save_seconds = time.perf_counter() - _t
    atomic_write(osp.join(out, 'last_checkpoint'), _path(out, 0))
    start = 1
    for r in range(rounds):
        stale = len(remove_stale_temporaries(out))  # as the hook does
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            try:
                _saves(out, start, backend)
            finally:
                os._exit(1)
        time.sleep(rng.uniform(0.2, 0.2 + 4 * save_seconds))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        names = [n for n in os.listdir(out) if n.endswith('.pth')]
        steps = {n: _complete(osp.join(out, n)) for n in names}
        broken = sorted(n for n, s in steps.items() if s is None)
        good = [s for s in steps.values() if s is not None]
        with open(osp.join(out, 'last_checkpoint')) as f:
            named = f.read().strip()
        record = dict(
            round=r, broken=broken, newest=max(good) if good else None,
            last_checkpoint=osp.basename(named),
            last_ok=osp.isfile(named) and _complete(named) is not None,
            temporaries=len([n for n in os.listdir(out) if '.tmp-' in n]),
            stale_removed=stale, save_seconds=save_seconds)
        print(json.dumps(record), flush=True)
        start = (max(good) if good else 0) + 1


if __name__ == '__main__':
    main()
