"""Training-step benchmark: stock mmpretrain MAE against SelectiveMAE.

Both models are built from their own configs with the same encoder (ViT
size, image size, patch size) and timed side by side in one process::

    OMP_NUM_THREADS=2 python tools/analysis_tools/benchmark_pretrain.py \
        --arch b --batch 8 --device cpu --dtype fp32 --repeats 5 --warmup 2 \
        --out-dir work_dirs/benchmark/vit-b_cpu

    # GPU, bf16, with and without torch.compile, and the data path with
    # both decode paths at 16 workers:
    python tools/analysis_tools/benchmark_pretrain.py --arch b --batch 256 \
        --device cuda --dtype bf16 --data-root data/rs4m --workers 16

The measurement is :mod:`selective_mae.benchmark.pretrain_step` (what a
step is, how it is timed, profiled and its memory measured); this tool
parses arguments and reports: a table on stdout, ``benchmark.json``,
``benchmark.md`` and ``benchmark.png`` in ``--out-dir``.

Per optimizer set-up (``--optim``: ``config``, each model's own config's
optim wrapper as its users run it; ``plain``, one-group AdamW for all),
steps of all models alternate (then in the other order), warm-up steps are
not timed and the median of ``--repeats`` is reported, with images/s, peak
memory and the ratios to MAE. Forward FLOPs per image come from mmengine's
``FlopAnalyzer`` (multiply-accumulates). The per-component table
(richness, selection, encoder, decoder, loss, backward, optimizer) comes
from torch.profiler ranges over ``--profile-steps`` extra steps of the
first set-up. With ``--data-root`` the SelectiveMAE config's data path
(loader workers plus data preprocessor) is timed with the worker-side and
the device-side JPEG decode (``--decode``) at ``--workers`` workers, so
the report shows whether the loader or the model is the bottleneck.
"""
import argparse
import json
import logging
import os
import os.path as osp
import platform
import statistics
import sys

import torch

ROOT = osp.abspath(osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
if ROOT not in sys.path:  # the package of this repository, uninstalled
    sys.path.insert(0, ROOT)

from selective_mae.benchmark.pretrain_step import (  # noqa: E402,F401
    COMPONENTS, DTYPES, OPTIM_MODES, MemoryProbe, build_model,
    build_optim_wrapper, config_optim_wrapper, count_flops, describe_optimizer,
    model_config, profile_components, random_batch, sdpa_flop_jit, state_bytes,
    time_loaders, time_steps)

DEFAULT_MAE_CFG = osp.join(ROOT, 'configs', 'mae',
                           'mae_vit-base-p16_8xb256-amp-coslr-800e_rs4m.py')
DEFAULT_SEL_CFG = osp.join(
    ROOT, 'configs', 'selectivemae',
    'selectivemae_vit-base-p16_8xb256-amp-coslr-800e_rs4m.py')
MALLOC_ENV = dict(MALLOC_MMAP_THRESHOLD_='65536', MALLOC_TRIM_THRESHOLD_='0')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark MAE and SelectiveMAE training steps.')
    parser.add_argument(
        '--arch',
        default='b',
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
    parser.add_argument('--decoder-dim', type=int)
    parser.add_argument('--decoder-heads', type=int)
    parser.add_argument('--mae-config', default=DEFAULT_MAE_CFG)
    parser.add_argument('--selectivemae-config', default=DEFAULT_SEL_CFG)
    parser.add_argument(
        '--extra',
        nargs='*',
        default=[],
        metavar='NAME=CONFIG',
        help='more models to time beside MAE and SelectiveMAE, e.g. '
        'released=configs/selectivemae/..._rs4m-released.py')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    parser.add_argument(
        '--dtype',
        default='fp32',
        choices=tuple(DTYPES),
        help='autocast precision of the forward (weights stay fp32)')
    parser.add_argument(
        '--optim',
        nargs='+',
        default=list(OPTIM_MODES),
        choices=OPTIM_MODES,
        help='optimizer set-ups, each timed interleaved (the first one is '
        'also profiled): config = each config\'s optim wrapper, plain = '
        'one-group AdamW')
    parser.add_argument(
        '--compile',
        nargs='?',
        const='inductor',
        help='torch.compile the encoder and decoder blocks of every model '
        '(backend, default inductor)')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument(
        '--progress',
        type=float,
        default=0.,
        help='PSTS curriculum progress t during the timing')
    parser.add_argument(
        '--profile-steps',
        type=int,
        default=2,
        help='profiled steps per model for the component table (0: none)')
    parser.add_argument(
        '--top-ops',
        type=int,
        default=0,
        help='also write profile.md with the top operators by self time')
    parser.add_argument(
        '--no-flops', action='store_true', help='skip FLOP counting')
    parser.add_argument(
        '--data-root',
        help='also time the SelectiveMAE config\'s data path on this data '
        'set')
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--loader-batches', type=int, default=10)
    parser.add_argument(
        '--decode',
        nargs='+',
        default=['worker', 'device'],
        choices=('worker', 'device'),
        help='decode paths of the data loader timing')
    parser.add_argument(
        '--threads',
        type=int,
        help='CPU threads of torch (default: torch\'s own choice)')
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
    if args.warmup < 0 or args.profile_steps < 0:
        raise SystemExit('--warmup and --profile-steps must be >= 0')
    if args.img_size % args.patch_size:
        raise SystemExit(f'--img-size {args.img_size} is not a multiple of '
                         f'--patch-size {args.patch_size}')
    extra = {}
    for item in args.extra:
        name, sep, path = item.partition('=')
        if not sep or not name or not path:
            raise SystemExit(f'--extra {item!r}: expected NAME=CONFIG')
        if name in ('MAE', 'SelectiveMAE') or name in extra:
            raise SystemExit(f'--extra {item!r}: model name {name!r} is '
                             'taken')
        extra[name] = path
    args.extra = extra
    return args


def config_paths(args):
    """name -> config path, MAE first."""
    paths = {'MAE': args.mae_config, 'SelectiveMAE': args.selectivemae_config}
    paths.update(args.extra)
    for name, path in paths.items():
        if not osp.isfile(path):
            raise SystemExit(f'config file not found for {name}: {path}')
    return paths


def model_cfgs(args):
    """Model configs of MAE, SelectiveMAE (and ``--extra``) with the
    requested encoder.

    Returns:
        tuple[dict, ...]: MAE's, SelectiveMAE's, then the extra models'.
    """
    from mmpretrain.models import VisionTransformer
    if args.arch not in VisionTransformer.arch_zoo:
        raise SystemExit(f'--arch {args.arch!r} is not one of '
                         f'{sorted(VisionTransformer.arch_zoo)}')
    out = []
    for name, path in config_paths(args).items():
        cfg = model_config(
            path,
            arch=args.arch,
            img_size=args.img_size,
            patch_size=args.patch_size,
            num_layers=args.num_layers,
            decoder_depth=args.decoder_depth,
            decoder_dim=args.decoder_dim,
            decoder_heads=args.decoder_heads)
        if (cfg['neck']['type'] == 'CrossAttentionDecoder'
                and args.selectivemae_decoder_depth is not None):
            cfg['neck']['decoder_depth'] = args.selectivemae_decoder_depth
        out.append(cfg)
    return tuple(out)


def machine_description(device):
    desc = dict(
        platform=platform.platform(),
        processor=platform.processor() or platform.machine(),
        cpu_count=os.cpu_count(),
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        omp_num_threads=os.environ.get('OMP_NUM_THREADS'))
    try:
        desc['load_avg_1min'] = round(os.getloadavg()[0], 2)
    except OSError:
        pass
    if torch.device(device).type == 'cuda':
        desc['gpu'] = torch.cuda.get_device_name(device)
    return desc


def _ratio(a, b):
    return None if a in (None, 0) or b is None else round(b / a, 3)


def summarise(args, runs, flops, loader, info, components, machine,
              load_end):
    """The JSON result (see the tests for its keys)."""
    names = list(info)
    primary = args.optim[0]
    by_mode = {}
    for mode, timings in runs.items():
        rows = {}
        for name, res in timings.items():
            step = statistics.median(res['step_s'])
            rows[name] = dict(
                step_time_ms=round(step * 1e3, 2),
                step_time_ms_all=[round(s * 1e3, 2) for s in res['step_s']],
                images_per_s=round(args.batch / step, 2),
                peak_mem_mib=round(
                    statistics.median(res['peak_bytes']) / 2**20, 1),
                final_loss=res['final_loss'],
                optimizer=res['optimizer'])
        by_mode[mode] = rows
    models = {}
    for name in names:
        row = dict(by_mode[primary][name])
        row.update(
            forward_gmacs_per_image=(round(flops[name][0] /
                                           1e9, 4) if name in flops else None),
            forward_gmacs_by_module=({
                k: round(v / 1e9, 4)
                for k, v in flops[name][1].items()
            } if name in flops else None),
            params_m=round(info[name]['params'] / 1e6, 3),
            decoder=info[name]['decoder'])
        models[name] = row

    def ratios_of(rows):
        out = {}
        mae = rows['MAE']
        for name in names[1:]:
            r = rows[name]
            out[name] = dict(
                speedup_images_per_s=_ratio(mae['images_per_s'],
                                            r['images_per_s']),
                step_time=_ratio(mae['step_time_ms'], r['step_time_ms']),
                peak_mem=_ratio(mae['peak_mem_mib'], r['peak_mem_mib']))
        return out

    ratios_by_mode = {mode: ratios_of(rows) for mode, rows in by_mode.items()}
    ratios = dict(ratios_by_mode[primary]['SelectiveMAE'])
    mae_f = models['MAE']['forward_gmacs_per_image']
    sel_f = models['SelectiveMAE']['forward_gmacs_per_image']
    ratios.update(
        flops=_ratio(mae_f, sel_f),
        mae_over_selectivemae_flops=_ratio(sel_f, mae_f))
    cuda = torch.device(args.device).type == 'cuda'
    memory_kind = ('this model\'s weights, gradients and optimizer state '
                   'plus the step\'s peak of torch.cuda.max_memory_allocated '
                   'above what was allocated before it' if cuda else
                   'process peak RSS during the step minus RSS before it')
    machine = dict(machine)
    machine['load_avg_1min_end'] = load_end
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
            compile=args.compile,
            optim=list(args.optim),
            warmup=args.warmup,
            repeats=args.repeats,
            profile_steps=args.profile_steps,
            psts_progress=args.progress,
            configs={
                n: osp.relpath(p, ROOT)
                for n, p in config_paths(args).items()
            },
            mae_decoder=info['MAE']['decoder'],
            selectivemae_decoder=info['SelectiveMAE']['decoder'],
            tokens=info['SelectiveMAE']['tokens']),
        machine=machine,
        memory_kind=memory_kind,
        flops_note=('forward multiply-accumulates per image of the '
                    'training-loss path, mmengine FlopAnalyzer, batch 1; '
                    'scaled_dot_product_attention counted by this tool'),
        models=models,
        runs=by_mode,
        ratios=ratios,
        ratios_by_mode=ratios_by_mode,
        components=components,
        loader=loader)
    if components and 'SelectiveMAE' in components:
        share = components['SelectiveMAE']['share']
        out['richness_selection_share'] = round(
            (share['richness'] or 0.) + (share['selection'] or 0.), 4)
    if loader:
        fastest = max(r['images_per_s'] for r in models.values())
        out['bottleneck'] = {
            decode: ('data loader' if r['images_per_s'] < fastest else 'model')
            for decode, r in loader.items()
        }
    return out


def _fmt(v, nd=2):
    return '-' if v is None else f'{v:.{nd}f}'


def to_markdown(res):
    s, m = res['settings'], res['machine']
    names = list(res['models'])
    lines = [
        f"Machine: {m.get('gpu', m['processor'])}, {m['cpu_count']} CPUs, "
        f"torch {m['torch']} ({m['platform']}), {m['threads']} threads, "
        f"load {m.get('load_avg_1min', '-')} at start, "
        f"{m.get('load_avg_1min_end', '-')} at the end.",
        '',
        f"Setting: ViT-{s['arch']} ({s['num_layers'] or 'default'} layers), "
        f"{s['img_size']} px, patch {s['patch_size']}, batch {s['batch']}, "
        f"{s['device']}, {s['dtype']}"
        f"{', compiled (' + s['compile'] + ')' if s['compile'] else ''}, "
        f"{s['warmup']} warm-up + {s['repeats']} timed steps per model "
        f"(median, interleaved), SelectiveMAE tokens {s['tokens']}.",
        '',
        '| optimizer set-up | model | step time (ms) | images/s | vs MAE '
        '| peak memory (MiB) | vs MAE | optimizer |',
        '|---|---|---:|---:|---:|---:|---:|---|',
    ]
    for mode, rows in res['runs'].items():
        for name in names:
            r = rows[name]
            ratio = res['ratios_by_mode'][mode].get(
                name, dict(speedup_images_per_s=1., peak_mem=1.))
            o = r['optimizer']
            lines.append(
                f"| {mode} | {name} | {_fmt(r['step_time_ms'], 1)} | "
                f"{_fmt(r['images_per_s'])} | "
                f"{_fmt(ratio['speedup_images_per_s'])}x | "
                f"{_fmt(r['peak_mem_mib'], 1)} | "
                f"{_fmt(ratio['peak_mem'], 3)} | "
                f"{o['wrapper']}, {o['optimizer']} {o['implementation']}, "
                f"{o['param_groups']} groups |")
    lines += [
        '',
        '| | ' + ' | '.join(names) + ' |',
        '|---|' + '---:|' * len(names),
        '| forward GMACs / image | ' + ' | '.join(
            _fmt(res['models'][n]['forward_gmacs_per_image'], 3)
            for n in names) + ' |',
        '| parameters (M) | ' +
        ' | '.join(_fmt(res['models'][n]['params_m'], 2)
                   for n in names) + ' |',
        '',
        f"MAE / SelectiveMAE forward FLOPs: "
        f"{_fmt(res['ratios']['mae_over_selectivemae_flops'], 3)}x.",
        f"Memory: {res['memory_kind']}.",
    ]
    comp = res.get('components')
    if comp:
        lines += [
            '',
            f"Per-component time (ms, share of the step), optimizer set-up "
            f"'{s['optim'][0]}', torch.profiler ranges, median of "
            f"{s['profile_steps']} profiled step(s):",
            '',
            '| component | ' + ' | '.join(comp) + ' |',
            '|---|' + '---:|' * len(comp),
        ]
        for key in COMPONENTS + ('other', ):
            cells = []
            for name in comp:
                ms, share = comp[name]['ms'][key], comp[name]['share'][key]
                cells.append('-' if ms is None else f'{ms:.1f} ({share:.1%})')
            lines.append(f'| {key} | ' + ' | '.join(cells) + ' |')
        lines.append('| step (profiled) | ' +
                     ' | '.join(f"{comp[n]['step_ms']:.1f}"
                                for n in comp) + ' |')
        if 'richness_selection_share' in res:
            lines += [
                '', 'SelectiveMAE richness + selection: '
                f"{res['richness_selection_share']:.1%} of the step."
            ]
    if res.get('loader'):
        for decode, ld in res['loader'].items():
            lines += [
                '',
                f"Data path, {decode} decode ({ld['data_root']}, "
                f"{ld['workers']} workers, batch {ld['batch_size']}, "
                f"preprocessor on {ld['device']}): "
                f"{ld['images_per_s']:.1f} images/s; bottleneck: "
                f"{res['bottleneck'][decode]}.",
            ]
    return '\n'.join(lines) + '\n'


def plot(res, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    names = list(res['models'])
    panels = [('images/s', 'images_per_s'), ('step time (ms)', 'step_time_ms'),
              ('peak memory (MiB)', 'peak_mem_mib'),
              ('forward GMACs / image', 'forward_gmacs_per_image')]
    if res.get('loader'):
        panels[0] = ('images/s (dashed: data path)', 'images_per_s')
    colours = ['#8c8c8c', '#2a7ab9', '#d08c2a', '#4a9a4a']
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.6))
    for ax, (title, key) in zip(axes, panels):
        vals = [res['models'][n][key] or 0. for n in names]
        bars = ax.bar(names, vals, color=colours[:len(names)])
        for b, v in zip(bars, vals):
            ax.annotate(
                f'{v:.3g}', (b.get_x() + b.get_width() / 2, v),
                ha='center',
                va='bottom',
                fontsize=9)
        if vals[0]:
            ax.set_xlabel('ratio ' + ', '.join(f'{v / vals[0]:.2f}'
                                               for v in vals[1:]))
        if key == 'images_per_s' and res.get('loader'):
            for ld in res['loader'].values():
                ax.axhline(ld['images_per_s'], ls='--', c='k')
        ax.set_title(title, fontsize=10)
        ax.margins(y=0.15)
        ax.tick_params(axis='x', labelsize=8)
    s = res['settings']
    fig.suptitle(f"ViT-{s['arch']} {s['img_size']} px, batch {s['batch']},"
                 f" {s['device']} {s['dtype']}, optimizer {s['optim'][0]}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)

    import selective_mae  # noqa: F401
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope

    from selective_mae.utils.regional_compile import compile_encoder_decoder
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
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    machine = machine_description(args.device)  # load at the start
    paths = config_paths(args)
    cfgs = dict(zip(paths, model_cfgs(args)))
    models, info = {}, {}
    L = (args.img_size // args.patch_size)**2
    for name, cfg in cfgs.items():
        model = build_model(cfg, device)
        models[name] = model
        neck = cfg['neck']
        info[name] = dict(
            params=sum(p.numel() for p in model.parameters()),
            decoder=f"{neck['type']} depth {neck.get('decoder_depth', 8)}, "
            f"width {neck.get('decoder_embed_dim', 512)}")
        if hasattr(model, 'selector'):
            model.selector.set_progress(args.progress)
            n_vis, n_seed, n_rec = model.selector.num_tokens(L)
            info[name]['tokens'] = (
                f'{n_vis} visible ({n_seed} seeds) + {n_rec} targets of {L}')
    flops = {}
    if not args.no_flops:
        for name, model in models.items():
            flops[name] = count_flops(model, args.img_size, device)
            print(
                f'{name}: {flops[name][0] / 1e9:.3f} GMACs / image '
                '(forward)',
                flush=True)
    if args.compile:
        for model in models.values():
            compile_encoder_decoder(model, dict(backend=args.compile))

    inputs, samples = random_batch(args.batch, args.img_size, device,
                                   args.seed)
    runs, components, top_ops = {}, {}, []
    for i, mode in enumerate(args.optim):
        entries = {
            name: (model,
                   build_optim_wrapper(model, mode, args.dtype,
                                       config_optim_wrapper(paths[name])))
            for name, model in models.items()
        }
        timings = time_steps(entries, inputs, samples, args.warmup,
                             args.repeats)
        for name, (_, wrapper) in entries.items():
            timings[name]['optimizer'] = describe_optimizer(wrapper)
            print(
                f'{mode:>6} {name}: {timings[name]["step_ms"]:.1f} ms/step'
                f' ({timings[name]["optimizer"]["param_groups"]} groups)',
                flush=True)
        runs[mode] = timings
        if i == 0 and args.profile_steps:
            for name, (model, wrapper) in entries.items():
                components[name] = profile_components(model, wrapper, inputs,
                                                      samples,
                                                      args.profile_steps,
                                                      args.top_ops)
                if args.top_ops:
                    top_ops += [
                        f'### {name}', '', '```',
                        components[name].pop('top_ops'), '```', ''
                    ]
        for model, wrapper in entries.values():
            wrapper.optimizer.zero_grad(set_to_none=True)
        del entries
    del models
    loader = None
    if args.data_root:
        sel_cfg = Config.fromfile(paths['SelectiveMAE'])
        loader = time_loaders(
            sel_cfg.train_dataloader.to_dict(),
            args.data_root,
            args.img_size,
            args.batch,
            args.workers,
            args.loader_batches,
            decodes=args.decode,
            device=args.device,
            data_preprocessor=sel_cfg.get('data_preprocessor'),
            seed=args.seed)
    try:
        load_end = round(os.getloadavg()[0], 2)
    except OSError:
        load_end = None
    res = summarise(args, runs, flops, loader, info, components, machine,
                    load_end)
    os.makedirs(args.out_dir, exist_ok=True)
    md = to_markdown(res)
    with open(osp.join(args.out_dir, 'benchmark.json'), 'w') as f:
        json.dump(res, f, indent=1)
    with open(osp.join(args.out_dir, 'benchmark.md'), 'w') as f:
        f.write(md)
    plot(res, osp.join(args.out_dir, 'benchmark.png'))
    if top_ops:
        with open(osp.join(args.out_dir, 'profile.md'), 'w') as f:
            f.write('\n'.join(top_ops))
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
