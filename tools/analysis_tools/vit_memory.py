"""Peak memory of one training step of the downstream ViT backbone, per
image size, with global or window attention, with or without activation
checkpointing. Prints a table and writes JSON.

    python tools/analysis_tools/vit_memory.py --sizes 512 1024 \
        --arch base --out work_dirs/vit_memory.json

Each setting runs in a fresh subprocess; the weights' gradients are
allocated before the measured step (as after any first step), so the number is the step's own memory
(activations kept for backward, attention buffers, temporaries). On a GPU it
is ``torch.cuda.max_memory_allocated`` during forward + backward minus what
was allocated before (weights, gradients, input). On the CPU (Linux) the
process's peak resident set size is reset just before the step
(``/proc/self/clear_refs``) and the number is that peak (``VmHWM``) minus
the resident size before the step, good for comparing settings, not an allocator-exact figure (glibc is
told to mmap every block above 64 KiB, so freed tensors leave the resident
set at once). Both attention kernels are measured: PyTorch's fused
``scaled_dot_product_attention`` (default; it does not store the attention
matrix) and the ``math`` kernel (stores it, as the implementations behind the
ViTDet / RVSA memory numbers do).
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..')
# glibc: serve every allocation above 64 KiB by mmap and unmap it on free,
# so the resident size follows the live tensors.
MALLOC_ENV = dict(MALLOC_MMAP_THRESHOLD_='65536', MALLOC_TRIM_THRESHOLD_='0')


def _proc_status_bytes(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f'{field} not in /proc/self/status')


def measure(arch, size, window_size, with_cp, kernel, device, batch):
    """Peak memory of one training step above weights + gradients, in MiB
    (runs in this process).

    Args:
        arch (str): ``PlainViT`` arch, e.g. 'base'.
        size (int): Square image size.
        window_size (int): 0 for global attention.
        with_cp (bool): Activation checkpointing.
        kernel (str): 'fused' or 'math' attention kernel.
        device (str): 'cpu' or 'cuda'.
        batch (int): Batch size.

    Returns:
        dict: ``peak_mib`` and ``seconds``.
    """
    import time

    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel

    sys.path.insert(0, ROOT)
    from selective_mae.models.backbones.plain_vit import PlainViT

    torch.manual_seed(0)
    model = PlainViT(
        arch=arch,
        img_size=size,
        window_size=window_size,
        with_cp=with_cp,
        drop_path_rate=0.).to(device).train()
    x = torch.randn(batch, 3, size, size, device=device)
    backends = {
        'fused': [
            SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION,
            SDPBackend.MATH
        ],
        'math': [SDPBackend.MATH]
    }[kernel]
    # The gradients exist before the measured step (it accumulates into
    # them), as in every training step after the first.
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # reset the peak RSS (VmHWM) to the current RSS
        base = _proc_status_bytes('VmRSS')
    start = time.perf_counter()
    with sdpa_kernel(backends):
        outs = model(x)
        sum(o.float().mean() for o in outs).backward()
    if device == 'cuda':
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = _proc_status_bytes('VmHWM') - base
    return dict(
        peak_mib=round(peak / 2**20, 1),
        seconds=round(time.perf_counter() - start, 2))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--arch', default='base')
    parser.add_argument('--sizes', type=int, nargs='+', default=[512, 1024])
    parser.add_argument('--window-size', type=int, default=14)
    parser.add_argument('--no-cp-only', action='store_true',
                        help='skip the activation-checkpointing rows')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument(
        '--kernels', nargs='+', default=['fused', 'math'],
        choices=['fused', 'math'])
    parser.add_argument('--device', default=None,
                        help="'cpu' or 'cuda' (default: cuda if available)")
    parser.add_argument('--out', default='work_dirs/vit_memory.json')
    parser.add_argument('--one', default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.one:
        print(json.dumps(measure(**json.loads(args.one))))
        return
    import torch
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    rows = []
    for size in args.sizes:
        for kernel in args.kernels:
            for window_size in (0, args.window_size):
                for with_cp in (False, ) if args.no_cp_only else (False,
                                                                  True):
                    setting = dict(
                        arch=args.arch, size=size, window_size=window_size,
                        with_cp=with_cp, kernel=kernel, device=device,
                        batch=args.batch)
                    out = subprocess.run(
                        [sys.executable, __file__, '--one',
                         json.dumps(setting)],
                        capture_output=True, text=True, check=True,
                        env=dict(os.environ, **MALLOC_ENV))
                    result = json.loads(out.stdout.strip().splitlines()[-1])
                    rows.append(dict(setting, **result))
                    print(f'{size:>5} {kernel:>6} '
                          f'{"window" if window_size else "global":>7} '
                          f'cp={str(with_cp):<5} {result["peak_mib"]:>9.1f} '
                          f'MiB {result["seconds"]:>7.1f} s', flush=True)
    header = ('| size | kernel | attention | checkpointing | peak MiB | '
              'relative to global, no cp | s/step |')
    lines = [header, '|' + '---|' * 7]
    for row in rows:
        ref = next(r for r in rows if r['size'] == row['size']
                   and r['kernel'] == row['kernel'] and r['window_size'] == 0
                   and not r['with_cp'])
        rel = row['peak_mib'] / ref['peak_mib'] if ref['peak_mib'] else 0
        attn = (f'window {row["window_size"]}'
                if row['window_size'] else 'global')
        lines.append(f'| {row["size"]} | {row["kernel"]} | {attn} | '
                     f'{"yes" if row["with_cp"] else "no"} | '
                     f'{row["peak_mib"]:.0f} | {rel:.2f} | '
                     f'{row["seconds"]:.1f} |')
    print('\n'.join(lines))
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(dict(device=device, arch=args.arch, batch=args.batch,
                       rows=rows), f, indent=2)
    print(f'written {args.out}')


if __name__ == '__main__':
    main()
