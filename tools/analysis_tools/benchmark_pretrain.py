"""Training-step benchmark: stock mmpretrain MAE against SelectiveMAE.

Both models are built from their own configs with the same encoder (ViT
size, image size, patch size) and timed side by side in one process::

    python tools/analysis_tools/benchmark_pretrain.py --arch b --batch 8 \
        --device cpu --dtype fp32 --repeats 5 --warmup 2 \
        --out-dir work_dirs/benchmark/vit-b_cpu

    # GPU, bf16 autocast, with the data loader timed on a data set:
    python tools/analysis_tools/benchmark_pretrain.py --arch b --batch 256 \
        --device cuda --dtype bf16 --data-root data/rs4m --workers 10

A step is forward of the training loss, backward and an AdamW step, on a
fixed batch of random images already on the device (model time only). Steps
of the two models alternate (MAE then SelectiveMAE, then the other order),
so load changes on a shared machine hit both alike; warm-up steps are not
timed and the median of ``--repeats`` timed steps is reported.

Reported per model: images/s, step time, peak memory, forward FLOPs per
image (mmengine's ``FlopAnalyzer`` on the training-loss forward at batch 1;
multiply-accumulates, as mmengine counts them), and the SelectiveMAE / MAE
ratios. Memory on a GPU is the model's own weights, gradients and AdamW
state plus the step's peak of ``torch.cuda.max_memory_allocated`` above what
was allocated before it (both models share the GPU, so the raw peak would
count the other model's state too). On the CPU it is the process's peak
resident size during the step (``VmHWM`` after resetting it through
``/proc/self/clear_refs``) minus the resident size before the step, i.e.
the memory the step itself takes (gradients are zeroed, not freed, between
steps, so they exist before the step); the tool re-executes itself with
glibc told to ``mmap`` blocks above 64 KiB so that freed tensors leave the
resident set at once.

With ``--data-root`` the pre-training data loader of the SelectiveMAE config
(its pipeline, ``--workers`` workers, ``--batch`` images per batch) is timed
alone, so the table shows whether the loader or the model is the
bottleneck.

Writes ``benchmark.json``, ``benchmark.md`` and ``benchmark.png`` to
``--out-dir``.
"""
import argparse
import copy
import json
import logging
import os
import os.path as osp
import platform
import statistics
import sys
import time

import torch
import torch.nn as nn

ROOT = osp.abspath(osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from mmpretrain.models import VisionTransformer  # noqa: E402
from mmpretrain.structures import DataSample  # noqa: E402

DEFAULT_MAE_CFG = osp.join(ROOT, 'configs', 'mae',
                           'mae_vit-base-p16_8xb256-amp-coslr-800e_rs4m.py')
DEFAULT_SEL_CFG = osp.join(
    ROOT, 'configs', 'selectivemae',
    'selectivemae_vit-base-p16_8xb256-amp-coslr-800e_rs4m.py')
MALLOC_ENV = dict(MALLOC_MMAP_THRESHOLD_='65536', MALLOC_TRIM_THRESHOLD_='0')
DTYPES = ('fp32', 'bf16', 'fp16')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark MAE and SelectiveMAE training steps.')
    parser.add_argument(
        '--arch',
        default='b',
        choices=sorted(VisionTransformer.arch_zoo),
        help='mmpretrain VisionTransformer arch of both encoders; ViT-S '
        '(timm vit_small, 384 wide) is deit-small, mmpretrain\'s "s" is '
        'the 768-wide 8-layer ViT-S of the original ViT paper')
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument('--patch-size', type=int, default=16)
    parser.add_argument(
        '--num-layers',
        type=int,
        help='override the encoder depth (for tiny test models)')
    parser.add_argument(
        '--decoder-depth',
        type=int,
        help='decoder depth of both models (default: each config\'s, 8)')
    parser.add_argument(
        '--selectivemae-decoder-depth',
        type=int,
        help='decoder depth of SelectiveMAE only (e.g. 12, the paper\'s '
        'best setting, against MAE\'s 8)')
    parser.add_argument(
        '--decoder-dim',
        type=int,
        help='decoder width of both models (default: 512)')
    parser.add_argument(
        '--decoder-heads',
        type=int,
        help='decoder heads of both models (default: 16)')
    parser.add_argument('--mae-config', default=DEFAULT_MAE_CFG)
    parser.add_argument('--selectivemae-config', default=DEFAULT_SEL_CFG)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    parser.add_argument(
        '--dtype',
        default='fp32',
        choices=DTYPES,
        help='autocast precision of the forward (weights stay fp32)')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument(
        '--progress',
        type=float,
        default=0.,
        help='PSTS curriculum progress t during the timing')
    parser.add_argument(
        '--no-flops', action='store_true', help='skip FLOP counting')
    parser.add_argument(
        '--data-root',
        help='also time the SelectiveMAE config\'s data '
        'loader on this data set')
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--loader-batches', type=int, default=10)
    parser.add_argument(
        '--threads',
        type=int,
        help='CPU threads of torch (default: torch\'s own choice); 1 avoids '
        'OpenMP spin-waits on a loaded machine')
    parser.add_argument(
        '--profile',
        action='store_true',
        help='after timing, profile one more step of each model with '
        'torch.profiler and write profile.md (stages and top operators)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--out-dir', default='work_dirs/benchmark', help='output folder')
    parser.add_argument(
        '--no-reexec',
        action='store_true',
        help='on the CPU, do not re-execute with the glibc mmap settings')
    args = parser.parse_args(argv)
    for name in ('batch', 'repeats', 'img_size', 'patch_size'):
        if getattr(args, name) < 1:
            raise SystemExit(f'--{name.replace("_", "-")} must be >= 1')
    if args.warmup < 0:
        raise SystemExit('--warmup must be >= 0')
    if args.img_size % args.patch_size:
        raise SystemExit(f'--img-size {args.img_size} is not a multiple of '
                         f'--patch-size {args.patch_size}')
    return args


def model_cfgs(args):
    """Model configs of MAE and SelectiveMAE with the requested encoder.

    Returns:
        tuple[dict, dict]: ``(mae_model_cfg, selectivemae_model_cfg)``.
    """
    from mmengine.config import Config

    width = VisionTransformer.arch_zoo[args.arch]['embed_dims']
    num_patches = (args.img_size // args.patch_size)**2
    out = []
    for path in (args.mae_config, args.selectivemae_config):
        if not osp.isfile(path):
            raise SystemExit(f'config file not found: {path}')
        model = copy.deepcopy(Config.fromfile(path).model.to_dict())
        bb = model['backbone']
        bb['arch'] = args.arch
        if args.num_layers is not None:
            arch = dict(
                embed_dims=width,
                num_layers=args.num_layers,
                num_heads=max(width // 64, 1),
                feedforward_channels=4 * width)
            bb['arch'] = arch
        bb.update(img_size=args.img_size, patch_size=args.patch_size)
        neck = model['neck']
        neck.update(patch_size=args.patch_size, embed_dim=width)
        if neck['type'] == 'CrossAttentionDecoder':
            neck['img_size'] = args.img_size
        else:
            neck['num_patches'] = num_patches
        for key, value in (('decoder_depth', args.decoder_depth),
                           ('decoder_embed_dim', args.decoder_dim),
                           ('decoder_num_heads', args.decoder_heads)):
            if value is not None:
                neck[key] = value
        if (neck['type'] == 'CrossAttentionDecoder'
                and args.selectivemae_decoder_depth is not None):
            neck['decoder_depth'] = args.selectivemae_decoder_depth
        model['head']['patch_size'] = args.patch_size
        out.append(model)
    return tuple(out)


def build_model(cfg, device):
    from mmpretrain.registry import MODELS

    model = MODELS.build(cfg)
    model.init_weights()
    model.to(device).train()
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.05)
    return model, optimizer


class LossForward(nn.Module):
    """Wraps a self-supervised model: images -> scalar training loss.

    Args:
        model (nn.Module): An mmpretrain ``BaseSelfSupervisor``.
    """

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, inputs):
        samples = [DataSample() for _ in range(inputs.shape[0])]
        return self.model.loss(inputs, samples)['loss']


def sdpa_flop_jit(inputs, outputs):
    """MACs of ``aten::scaled_dot_product_attention``: q @ k^T and
    attn @ v, i.e. ``B * h * Nq * Nk * (d_qk + d_v)``."""
    from mmengine.analysis.jit_handles import get_shape

    q, k, v = (get_shape(x) for x in inputs[:3])
    batch = 1
    for s in q[:-2]:
        batch *= s
    return batch * q[-2] * k[-2] * (q[-1] + v[-1])


def count_flops(model, img_size, device):
    """Forward MACs per image of the model's training loss, at batch 1.

    Returns:
        tuple[int, dict]: total and per top-level module of the model.
    """

    from mmengine.analysis import FlopAnalyzer

    wrapper = LossForward(model).eval()
    x = torch.randn(1, 3, img_size, img_size, device=device)
    analyzer = FlopAnalyzer(wrapper, (x, ))
    analyzer.set_op_handle('aten::scaled_dot_product_attention', sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    analyzer.tracer_warnings('none')
    total = analyzer.total()
    by_module = analyzer.by_module()
    parts = {
        name.split('.', 1)[1]: int(v)
        for name, v in by_module.items() if name.count('.') == 1
    }
    model.train()
    return int(total), parts


def _status_bytes(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f'{field} not in /proc/self/status')


class MemoryProbe:
    """Peak memory of a code region (see the module docstring)."""

    def __init__(self, device):
        self.cuda = torch.device(device).type == 'cuda'
        self.can_reset = (not self.cuda
                          and osp.exists('/proc/self/clear_refs'))

    def __enter__(self):
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.before = torch.cuda.memory_allocated()
        elif self.can_reset:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
            self.before = _status_bytes('VmRSS')
        return self

    def __exit__(self, *exc):
        if self.cuda:
            torch.cuda.synchronize()
            self.peak = torch.cuda.max_memory_allocated() - self.before
        elif self.can_reset:
            self.peak = _status_bytes('VmHWM') - self.before
        else:
            self.peak = float('nan')
        return False


def state_bytes(model, optimizer):
    """Bytes of a model's parameters, gradients and optimizer state."""
    tensors = [p for p in model.parameters()]
    tensors += [p.grad for p in model.parameters() if p.grad is not None]
    tensors += [
        v for st in optimizer.state.values() for v in st.values()
        if torch.is_tensor(v)
    ]
    return sum(t.numel() * t.element_size() for t in tensors)


def train_step(model, optimizer, inputs, samples, autocast, scaler):
    with torch.autocast(**autocast):
        loss = model.loss(inputs, samples)['loss']
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        optimizer.step()
    # gradients stay allocated: the measured memory is the step's own
    optimizer.zero_grad(set_to_none=False)
    return loss


def time_models(models, args):
    """Interleaved timed training steps.

    Args:
        models (dict): name -> (model, optimizer).

    Returns:
        dict: name -> dict(step_s list, peak_bytes list, final_loss).
    """
    device = torch.device(args.device)
    dtype = dict(
        fp32=torch.float32, bf16=torch.bfloat16,
        fp16=torch.float16)[args.dtype]
    autocast = dict(
        device_type=device.type, dtype=dtype, enabled=args.dtype != 'fp32')
    g = torch.Generator().manual_seed(args.seed)
    inputs = torch.randn(
        args.batch, 3, args.img_size, args.img_size, generator=g).to(device)
    samples = [DataSample() for _ in range(args.batch)]
    scalers = {
        name:
        (torch.amp.GradScaler(device.type) if args.dtype == 'fp16' else None)
        for name in models
    }
    sync = (
        torch.cuda.synchronize if device.type == 'cuda' else (lambda: None))
    results = {
        name: dict(step_s=[], peak_bytes=[], final_loss=None)
        for name in models
    }
    names = list(models)
    for i in range(args.warmup + args.repeats):
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            model, optimizer = models[name]
            with MemoryProbe(args.device) as probe:
                sync()
                t0 = time.perf_counter()
                loss = train_step(model, optimizer, inputs, samples, autocast,
                                  scalers[name])
                sync()
                dt = time.perf_counter() - t0
            if i >= args.warmup:
                peak = probe.peak
                if device.type == 'cuda':  # both models share the GPU
                    peak += state_bytes(model, optimizer)
                results[name]['step_s'].append(dt)
                results[name]['peak_bytes'].append(peak)
            results[name]['final_loss'] = loss.detach()
    for res in results.values():
        res['final_loss'] = float(res['final_loss'])
    return results


STAGES = {
    'MAE': ('backbone.forward', 'neck.forward', 'head.loss'),
    'SelectiveMAE': ('backbone.embed', 'selector.forward', 'backbone.encode',
                     'neck.forward', 'head.per_sample_loss'),
}


def _labelled(fn, label):
    from torch.profiler import record_function

    def wrapper(*args, **kwargs):
        with record_function(label):
            return fn(*args, **kwargs)

    return wrapper


def profile_steps(models, args, top=15):
    """One profiled training step per model.

    The forward stages of each model (``STAGES``) are labelled by wrapping
    the bound methods on the instances for the duration of the step.

    Returns:
        str: Markdown with, per model, the time of each stage, of the
        backward and of the optimizer step, and the top operators by self
        time.
    """
    from torch.profiler import ProfilerActivity, profile, record_function

    device = torch.device(args.device)
    acts = [ProfilerActivity.CPU]
    if device.type == 'cuda':
        acts.append(ProfilerActivity.CUDA)
    dtype = dict(
        fp32=torch.float32, bf16=torch.bfloat16,
        fp16=torch.float16)[args.dtype]
    inputs = torch.randn(
        args.batch, 3, args.img_size, args.img_size, device=device)
    samples = [DataSample() for _ in range(args.batch)]
    lines = []
    for name, (model, optimizer) in models.items():
        patched = []
        for path in STAGES[name]:
            owner_name, meth = path.split('.')
            owner = getattr(model, owner_name)
            setattr(owner, meth, _labelled(getattr(owner, meth), path))
            patched.append((owner, meth))
        with profile(activities=acts) as prof:
            with record_function('forward'):
                with torch.autocast(
                        device_type=device.type,
                        dtype=dtype,
                        enabled=args.dtype != 'fp32'):
                    loss = model.loss(inputs, samples)['loss']
            with record_function('backward'):
                loss.backward()
            with record_function('optimizer.step'):
                optimizer.step()
                optimizer.zero_grad(set_to_none=False)
            if device.type == 'cuda':
                torch.cuda.synchronize()
        for owner, meth in patched:
            delattr(owner, meth)
        events = {e.key: e for e in prof.key_averages()}
        use_cuda = device.type == 'cuda'

        def ms(e):
            t = (e.device_time_total if use_cuda else e.cpu_time_total)
            return t / 1e3

        total = sum(
            ms(events[k]) for k in ('forward', 'backward', 'optimizer.step'))
        lines += [
            f'### {name}', '',
            f'| stage | {"device" if use_cuda else "CPU"} time (ms) | '
            'share of step |', '|---|---:|---:|'
        ]
        for key in ('forward', *STAGES[name], 'backward', 'optimizer.step'):
            if key in events:
                label = key if key in ('forward', 'backward',
                                       'optimizer.step') else f'  {key}'
                lines.append(f'| {label} | {ms(events[key]):.1f} | '
                             f'{ms(events[key]) / total:.1%} |')
        lines += ['', f'Top {top} operators by self time:', '', '```']
        sort = 'self_cuda_time_total' if use_cuda else 'self_cpu_time_total'
        lines.append(prof.key_averages().table(sort_by=sort, row_limit=top))
        lines += ['```', '']
    return '\n'.join(lines)


def time_loader(args):
    """Images/s of the SelectiveMAE config's training data loader alone.

    Returns:
        dict: ``images``, ``seconds``, ``images_per_s``, ``workers``.
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    init_default_scope('mmpretrain')
    cfg = Config.fromfile(args.selectivemae_config)
    loader_cfg = copy.deepcopy(cfg.train_dataloader.to_dict())
    loader_cfg.update(
        batch_size=args.batch,
        num_workers=args.workers,
        persistent_workers=args.workers > 0)
    loader_cfg['dataset']['data_root'] = args.data_root
    for t in loader_cfg['dataset'].get('pipeline', []):
        if 'scale' in t and t['type'] in ('LoadRandomResizedCrop',
                                          'RandomResizedCrop'):
            t['scale'] = args.img_size
    loader = Runner.build_dataloader(loader_cfg, seed=args.seed)
    it = iter(loader)
    next(it)  # worker start-up and first decodes
    n = 0
    t0 = time.perf_counter()
    for _ in range(args.loader_batches):
        try:
            batch = next(it)
        except StopIteration:
            it = iter(loader)
            batch = next(it)
        n += len(batch['inputs'])
    dt = time.perf_counter() - t0
    del it
    return dict(
        data_root=args.data_root,
        workers=args.workers,
        batch_size=args.batch,
        images=n,
        seconds=round(dt, 3),
        images_per_s=round(n / dt, 2))


def machine_description(device):
    desc = dict(
        platform=platform.platform(),
        processor=platform.processor() or platform.machine(),
        cpu_count=os.cpu_count(),
        torch=torch.__version__,
        threads=torch.get_num_threads())
    try:
        desc['load_avg_1min'] = round(os.getloadavg()[0], 2)
    except OSError:
        pass
    if torch.device(device).type == 'cuda':
        desc['gpu'] = torch.cuda.get_device_name(device)
    return desc


def summarise(args, timings, flops, loader, cfgs):
    rows = {}
    for name, res in timings.items():
        step = statistics.median(res['step_s'])
        peak = statistics.median(res['peak_bytes'])
        rows[name] = dict(
            step_time_ms=round(step * 1e3, 2),
            step_time_ms_all=[round(s * 1e3, 2) for s in res['step_s']],
            images_per_s=round(args.batch / step, 2),
            peak_mem_mib=round(peak / 2**20, 1),
            forward_gmacs_per_image=(round(flops[name][0] /
                                           1e9, 4) if name in flops else None),
            forward_gmacs_by_module=({
                k: round(v / 1e9, 4)
                for k, v in flops[name][1].items()
            } if name in flops else None),
            params_m=round(cfgs[name]['params'] / 1e6, 3),
            final_loss=res['final_loss'],
        )
    mae, sel = rows['MAE'], rows['SelectiveMAE']

    def ratio(a, b):
        return None if a in (None, 0) or b is None else round(b / a, 3)

    ratios = dict(
        speedup_images_per_s=ratio(mae['images_per_s'], sel['images_per_s']),
        step_time=ratio(mae['step_time_ms'], sel['step_time_ms']),
        peak_mem=ratio(mae['peak_mem_mib'], sel['peak_mem_mib']),
        flops=ratio(mae['forward_gmacs_per_image'],
                    sel['forward_gmacs_per_image']),
        mae_over_selectivemae_flops=ratio(sel['forward_gmacs_per_image'],
                                          mae['forward_gmacs_per_image']),
    )
    memory_kind = ('this model\'s weights, gradients and AdamW state plus '
                   'the step\'s peak of torch.cuda.max_memory_allocated '
                   'above what was allocated before it'
                   if torch.device(args.device).type == 'cuda' else
                   'process peak RSS during the step minus RSS before it')
    out = dict(
        command='python tools/analysis_tools/benchmark_pretrain.py ' +
        ' '.join(sys.argv[1:]),
        settings=dict(
            arch=args.arch,
            num_layers=args.num_layers,
            threads=torch.get_num_threads(),
            img_size=args.img_size,
            patch_size=args.patch_size,
            batch=args.batch,
            device=args.device,
            dtype=args.dtype,
            warmup=args.warmup,
            repeats=args.repeats,
            psts_progress=args.progress,
            mae_config=osp.relpath(args.mae_config, ROOT),
            selectivemae_config=osp.relpath(args.selectivemae_config, ROOT),
            mae_decoder=cfgs['MAE']['decoder'],
            selectivemae_decoder=cfgs['SelectiveMAE']['decoder'],
            tokens=cfgs['SelectiveMAE']['tokens']),
        machine=machine_description(args.device),
        memory_kind=memory_kind,
        flops_note=('forward multiply-accumulates per image of the '
                    'training-loss path, mmengine FlopAnalyzer, batch 1; '
                    'scaled_dot_product_attention counted by this tool'),
        models=rows,
        ratios=ratios,
        loader=loader)
    if loader is not None:
        fastest = sel['images_per_s']
        out['bottleneck'] = ('data loader'
                             if loader['images_per_s'] < fastest else 'model')
    return out


def to_markdown(res):
    mae, sel = res['models']['MAE'], res['models']['SelectiveMAE']
    r = res['ratios']
    s = res['settings']
    m = res['machine']

    def fmt(v, nd=2):
        return '-' if v is None else f'{v:.{nd}f}'

    lines = [
        f"Machine: {m.get('gpu', m['processor'])}, {m['cpu_count']} CPUs, "
        f"torch {m['torch']} ({m['platform']}), "
        f"load {m.get('load_avg_1min', '-')} at start.",
        '',
        f"Setting: ViT-{s['arch']} ({s['num_layers'] or 'default'} layers), "
        f"{s['img_size']} px, patch {s['patch_size']}, batch {s['batch']}, "
        f"{s['device']}, {s['dtype']}, {s['warmup']} warm-up + "
        f"{s['repeats']} timed steps per model (median), "
        f"SelectiveMAE tokens {s['tokens']}.",
        '',
        '| | MAE | SelectiveMAE | SelectiveMAE / MAE |',
        '|---|---:|---:|---:|',
        f"| images/s | {fmt(mae['images_per_s'])} | "
        f"{fmt(sel['images_per_s'])} | {fmt(r['speedup_images_per_s'])}x |",
        f"| step time (ms) | {fmt(mae['step_time_ms'], 1)} | "
        f"{fmt(sel['step_time_ms'], 1)} | {fmt(r['step_time'], 3)} |",
        f"| peak memory (MiB) | {fmt(mae['peak_mem_mib'], 1)} | "
        f"{fmt(sel['peak_mem_mib'], 1)} | {fmt(r['peak_mem'], 3)} |",
        f"| forward GMACs / image | {fmt(mae['forward_gmacs_per_image'], 3)}"
        f" | {fmt(sel['forward_gmacs_per_image'], 3)} | "
        f"{fmt(r['flops'], 3)} (MAE / SelectiveMAE "
        f"{fmt(r['mae_over_selectivemae_flops'])}) |",
        f"| parameters (M) | {fmt(mae['params_m'], 2)} | "
        f"{fmt(sel['params_m'], 2)} | |",
        '',
        f"Memory: {res['memory_kind']}.",
    ]
    if res.get('loader'):
        ld = res['loader']
        lines += [
            '',
            f"Data loader alone ({ld['data_root']}, {ld['workers']} workers,"
            f" batch {ld['batch_size']}): {ld['images_per_s']:.1f} images/s;"
            f" bottleneck: {res['bottleneck']}.",
        ]
    return '\n'.join(lines) + '\n'


def plot(res, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    mae, sel = res['models']['MAE'], res['models']['SelectiveMAE']
    panels = [('images/s', 'images_per_s'), ('step time (ms)', 'step_time_ms'),
              ('peak memory (MiB)', 'peak_mem_mib'),
              ('forward GMACs / image', 'forward_gmacs_per_image')]
    if res.get('loader'):
        panels[0] = ('images/s (dashed: loader)', 'images_per_s')
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.6))
    for ax, (title, key) in zip(axes, panels):
        vals = [mae[key] or 0., sel[key] or 0.]
        bars = ax.bar(['MAE', 'SelectiveMAE'],
                      vals,
                      color=['#8c8c8c', '#2a7ab9'])
        for b, v in zip(bars, vals):
            ax.annotate(
                f'{v:.3g}', (b.get_x() + b.get_width() / 2, v),
                ha='center',
                va='bottom',
                fontsize=9)
        if vals[0]:
            ax.set_xlabel(f'ratio {vals[1] / vals[0]:.2f}')
        if key == 'images_per_s' and res.get('loader'):
            ax.axhline(res['loader']['images_per_s'], ls='--', c='k')
        ax.set_title(title, fontsize=10)
        ax.margins(y=0.15)
    s = res['settings']
    fig.suptitle(f"ViT-{s['arch']} {s['img_size']} px, batch {s['batch']},"
                 f" {s['device']} {s['dtype']}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)

    import selective_mae  # noqa: F401
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope
    init_default_scope('mmpretrain')

    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda given but CUDA is not available')
    if args.dtype == 'fp16' and device.type != 'cuda':
        raise SystemExit('--dtype fp16 needs --device cuda (use bf16 on the '
                         'CPU)')
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    logger = MMLogger.get_current_instance()
    logger.setLevel(logging.WARNING)
    mae_cfg, sel_cfg = model_cfgs(args)
    models = {}
    cfgs = {}
    for name, cfg in (('MAE', mae_cfg), ('SelectiveMAE', sel_cfg)):
        model, optimizer = build_model(cfg, device)
        models[name] = (model, optimizer)
        neck = cfg['neck']
        cfgs[name] = dict(
            params=sum(p.numel() for p in model.parameters()),
            decoder=f"{neck['type']} depth {neck.get('decoder_depth', 8)}, "
            f"width {neck.get('decoder_embed_dim', 512)}")
    sel = models['SelectiveMAE'][0]
    sel.selector.set_progress(args.progress)
    L = (args.img_size // args.patch_size)**2
    n_vis, n_seed, n_rec = sel.selector.num_tokens(L)
    cfgs['SelectiveMAE']['tokens'] = (
        f'{n_vis} visible ({n_seed} seeds) + {n_rec} targets of {L}')

    flops = {}
    if not args.no_flops:
        for name, (model, _) in models.items():
            flops[name] = count_flops(model, args.img_size, device)
            print(f'{name}: {flops[name][0] / 1e9:.3f} GMACs / image '
                  f'(forward)')
    timings = time_models(models, args)
    profile_md = profile_steps(models, args) if args.profile else None
    del models
    loader = time_loader(args) if args.data_root else None

    res = summarise(args, timings, flops, loader, cfgs)
    os.makedirs(args.out_dir, exist_ok=True)
    md = to_markdown(res)
    with open(osp.join(args.out_dir, 'benchmark.json'), 'w') as f:
        json.dump(res, f, indent=1)
    with open(osp.join(args.out_dir, 'benchmark.md'), 'w') as f:
        f.write(md)
    plot(res, osp.join(args.out_dir, 'benchmark.png'))
    if profile_md:
        with open(osp.join(args.out_dir, 'profile.md'), 'w') as f:
            f.write(profile_md)
        print(profile_md)
    print(md)
    print(f'wrote {args.out_dir}/benchmark.{{json,md,png}}')
    return res


def _reexec_with_malloc_env():
    """Re-run this script with glibc mmap settings (CPU memory numbers)."""
    if all(os.environ.get(k) == v for k, v in MALLOC_ENV.items()):
        return
    env = dict(os.environ, **MALLOC_ENV)
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


if __name__ == '__main__':
    if '--no-reexec' not in sys.argv and sys.platform.startswith('linux'):
        _reexec_with_malloc_env()
    main()
