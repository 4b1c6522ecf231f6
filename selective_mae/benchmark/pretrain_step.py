"""Measurement of pretraining steps: MAE-style models built from their
configs, timed side by side, profiled by component, FLOPs and memory.

Used by ``tools/analysis_tools/benchmark_pretrain.py`` (which only reports)
and by tests. Not a test itself: the numbers depend on the machine.

A step is the training-loss forward, backward and optimizer step on a fixed
batch of random images already on the device (model time only), run through
an mmengine optim wrapper:

* ``config``: the model's own config's ``optim_wrapper`` (its constructor,
  optimizer and ``paramwise_cfg``), as a user runs it; only the wrapper
  type follows the benchmark's precision (fp32 ``OptimWrapper``, bf16
  ``BF16OptimWrapper``, fp16 ``AmpOptimWrapper``);
* ``plain``: one parameter group, ``torch.optim.AdamW`` with torch's
  default implementation for the device, the same precision.
"""
import copy
import os.path as osp
import statistics
import time
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn

DTYPES = dict(fp32=torch.float32, bf16=torch.bfloat16, fp16=torch.float16)
OPTIM_MODES = ('config', 'plain')
# Components of a step, in the order of the table.
COMPONENTS = ('richness', 'selection', 'encoder', 'decoder', 'loss',
              'backward', 'optimizer')
# (component, attribute path of the method labelled with it) per model
# type; 'selection' is PSTS without its richness scorer.
_LABELS = {
    'SelectiveMAE':
    (('encoder', 'backbone.embed'), ('richness', 'selector.scorer.forward'),
     ('psts', 'selector.forward'), ('encoder', 'backbone.encode'),
     ('decoder', 'neck.forward'), ('loss', 'head.per_sample_loss')),
    'MAE': (('encoder', 'backbone.forward'), ('decoder', 'neck.forward'),
            ('loss', 'head.loss')),
}


def model_config(path: str,
                 arch: str = 'b',
                 img_size: int = 224,
                 patch_size: int = 16,
                 num_layers: Optional[int] = None,
                 decoder_depth: Optional[int] = None,
                 decoder_dim: Optional[int] = None,
                 decoder_heads: Optional[int] = None) -> dict:
    """The ``model`` of a pretraining config with the requested encoder.

    Args:
        path (str): Config file (MAE or SelectiveMAE).
        arch (str): mmpretrain ``VisionTransformer`` arch.
        img_size (int): Image side.
        patch_size (int): Patch side.
        num_layers (int, optional): Encoder depth override (tiny models).
        decoder_depth, decoder_dim, decoder_heads (int, optional):
            Decoder overrides.

    Returns:
        dict: The model config.
    """
    from mmengine.config import Config
    from mmpretrain.models import VisionTransformer

    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    model = copy.deepcopy(Config.fromfile(path).model.to_dict())
    width = VisionTransformer.arch_zoo[arch]['embed_dims']
    bb = model['backbone']
    bb['arch'] = arch
    if num_layers is not None:
        bb['arch'] = dict(
            embed_dims=width,
            num_layers=num_layers,
            num_heads=max(width // 64, 1),
            feedforward_channels=4 * width)
    bb.update(img_size=img_size, patch_size=patch_size)
    neck = model['neck']
    neck.update(patch_size=patch_size, embed_dim=width)
    if neck['type'] == 'CrossAttentionDecoder':
        neck['img_size'] = img_size
    else:
        neck['num_patches'] = (img_size // patch_size)**2
    for key, value in (('decoder_depth', decoder_depth), ('decoder_embed_dim',
                                                          decoder_dim),
                       ('decoder_num_heads', decoder_heads)):
        if value is not None:
            neck[key] = value
    model['head']['patch_size'] = patch_size
    return model


def config_optim_wrapper(path: str) -> dict:
    """The ``optim_wrapper`` of a config file, as a plain dict."""
    from mmengine.config import Config
    return copy.deepcopy(Config.fromfile(path).optim_wrapper.to_dict())


def build_model(cfg: dict, device) -> nn.Module:
    """Build, initialise and move a model to ``device`` in train mode."""
    from mmpretrain.registry import MODELS

    model = MODELS.build(copy.deepcopy(cfg))
    model.init_weights()
    return model.to(device).train()


def _wrapper_type(dtype: str) -> dict:
    if dtype == 'fp32':
        return dict(type='OptimWrapper')
    if dtype == 'bf16':
        return dict(type='BF16OptimWrapper')
    return dict(type='AmpOptimWrapper', dtype='float16', loss_scale='dynamic')


def build_optim_wrapper(model: nn.Module,
                        mode: str,
                        dtype: str = 'fp32',
                        config_wrapper: Optional[dict] = None):
    """An optim wrapper for the timed steps (see the module docstring).

    Args:
        model (nn.Module): The model (on its device).
        mode (str): ``'config'`` or ``'plain'``.
        dtype (str): ``'fp32'``, ``'bf16'`` or ``'fp16'``.
        config_wrapper (dict, optional): The config's ``optim_wrapper``
            (needed for ``'config'``).

    Returns:
        OptimWrapper: mmengine optim wrapper.
    """
    from mmengine.optim import OptimWrapper
    from mmengine.optim import build_optim_wrapper as build
    from mmengine.registry import OPTIM_WRAPPERS

    if mode not in OPTIM_MODES:
        raise ValueError(f'optimizer mode {mode!r} is not one of '
                         f'{OPTIM_MODES}')
    if mode == 'plain':
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.05)
        cfg = _wrapper_type(dtype)
        if cfg['type'] == 'OptimWrapper':
            return OptimWrapper(optimizer)
        return OPTIM_WRAPPERS.build(
            cfg, default_args=dict(optimizer=optimizer))
    if config_wrapper is None:
        raise ValueError("optimizer mode 'config' needs the config's "
                         'optim_wrapper')
    cfg = copy.deepcopy(config_wrapper)
    for key in ('type', 'dtype', 'loss_scale'):
        cfg.pop(key, None)
    cfg.update(_wrapper_type(dtype))
    return build(model, cfg)


def describe_optimizer(wrapper) -> dict:
    """Type, parameter groups and implementation of a wrapper's
    optimizer."""
    opt = wrapper.optimizer
    d = opt.defaults
    impl = ('fused' if d.get('fused') else
            'foreach' if d.get('foreach') else 'default')
    return dict(
        wrapper=type(wrapper).__name__,
        optimizer=type(opt).__name__,
        param_groups=len(opt.param_groups),
        implementation=impl)


def sdpa_flop_jit(inputs, outputs):
    """MACs of ``aten::scaled_dot_product_attention``: q @ k^T and
    attn @ v, i.e. ``B * h * Nq * Nk * (d_qk + d_v)``."""
    from mmengine.analysis.jit_handles import get_shape

    q, k, v = (get_shape(x) for x in inputs[:3])
    batch = 1
    for s in q[:-2]:
        batch *= s
    return batch * q[-2] * k[-2] * (q[-1] + v[-1])


class LossForward(nn.Module):
    """Wraps a self-supervised model: images -> scalar training loss."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, inputs):
        from mmpretrain.structures import DataSample
        samples = [DataSample() for _ in range(inputs.shape[0])]
        return self.model.loss(inputs, samples)['loss']


def count_flops(model: nn.Module, img_size: int, device) -> tuple:
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
    parts = {
        name.split('.', 1)[1]: int(v)
        for name, v in analyzer.by_module().items() if name.count('.') == 1
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
    """Peak memory of a code region.

    On a GPU: the peak of ``torch.cuda.max_memory_allocated`` above what was
    allocated before. On the CPU: the process's peak resident size
    (``VmHWM`` after resetting it through ``/proc/self/clear_refs``) minus
    the resident size before (run with glibc told to ``mmap`` large blocks,
    ``MALLOC_MMAP_THRESHOLD_``, so that freed tensors leave the resident
    set at once).
    """

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


def state_bytes(model: nn.Module, optimizer) -> int:
    """Bytes of a model's parameters, gradients and optimizer state."""
    tensors = list(model.parameters())
    tensors += [p.grad for p in model.parameters() if p.grad is not None]
    tensors += [
        v for st in optimizer.state.values() for v in st.values()
        if torch.is_tensor(v)
    ]
    return sum(t.numel() * t.element_size() for t in tensors)


def train_step(model: nn.Module, wrapper, inputs: torch.Tensor,
               samples: list) -> torch.Tensor:
    """Forward (in the wrapper's precision context), backward, step.
    Gradients are zeroed, not freed, so the measured memory is the step's
    own."""
    with wrapper.optim_context(model):
        loss = model.loss(inputs, samples)['loss']
    wrapper.backward(loss)
    wrapper.step()
    wrapper.optimizer.zero_grad(set_to_none=False)
    return loss


def random_batch(batch: int, img_size: int, device, seed: int = 0):
    """Fixed random images [B, 3, S, S] on ``device`` and their samples."""
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randn(batch, 3, img_size, img_size, generator=g)
    return inputs.to(device), [DataSample() for _ in range(batch)]


def _sync(device):
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize()


def time_steps(entries: Dict[str, tuple],
               inputs: torch.Tensor,
               samples: list,
               warmup: int = 2,
               repeats: int = 5) -> Dict[str, dict]:
    """Interleaved timed training steps.

    Steps alternate between the entries (in the given order, then in the
    reverse order, and so on), so load changes on a shared machine hit
    every entry alike; ``warmup`` rounds are not timed.

    Args:
        entries (dict): name -> ``(model, optim_wrapper)``.
        inputs (torch.Tensor): The batch, on the models' device.
        samples (list): Its data samples.
        warmup (int): Untimed rounds.
        repeats (int): Timed rounds.

    Returns:
        dict: name -> ``step_s`` (list), ``peak_bytes`` (list),
        ``final_loss`` (float).
    """
    device = inputs.device
    results = {
        name: dict(step_s=[], peak_bytes=[], final_loss=None)
        for name in entries
    }
    names = list(entries)
    for i in range(warmup + repeats):
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            model, wrapper = entries[name]
            with MemoryProbe(device) as probe:
                _sync(device)
                t0 = time.perf_counter()
                loss = train_step(model, wrapper, inputs, samples)
                _sync(device)
                dt = time.perf_counter() - t0
            if i >= warmup:
                peak = probe.peak
                if device.type == 'cuda':  # the models share the GPU
                    peak += state_bytes(model, wrapper.optimizer)
                results[name]['step_s'].append(dt)
                results[name]['peak_bytes'].append(peak)
            results[name]['final_loss'] = loss.detach()
    for res in results.values():
        res['final_loss'] = float(res['final_loss'])
        res['step_ms'] = statistics.median(res['step_s']) * 1e3
    return results


def _model_kind(model: nn.Module) -> str:
    return 'SelectiveMAE' if hasattr(model, 'selector') else 'MAE'


def _labelled(fn, label):
    from torch.profiler import record_function

    def wrapper(*args, **kwargs):
        with record_function(label):
            return fn(*args, **kwargs)

    return wrapper


class labelled_components:
    """Context manager: the model's stage methods run inside
    ``record_function('component:<name>')`` ranges (instance attributes
    shadowing the methods; removed on exit)."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.patched = []

    def __enter__(self):
        for label, path in _LABELS[_model_kind(self.model)]:
            *owners, meth = path.split('.')
            owner = self.model
            for name in owners:
                owner = getattr(owner, name)
            setattr(owner, meth,
                    _labelled(getattr(owner, meth), f'component:{label}'))
            self.patched.append((owner, meth))
        return self

    def __exit__(self, *exc):
        for owner, meth in reversed(self.patched):
            delattr(owner, meth)
        self.patched = []
        return False


def profile_components(model: nn.Module,
                       wrapper,
                       inputs: torch.Tensor,
                       samples: list,
                       steps: int = 1,
                       top: int = 0) -> dict:
    """Per-component time of training steps, from torch.profiler ranges.

    Components (:data:`COMPONENTS`): ``richness`` (the HOG scorer),
    ``selection`` (PSTS without the scorer), ``encoder`` (patch embedding
    and transformer; MAE's random masking included), ``decoder``, ``loss``
    (the head), ``backward``, ``optimizer`` (step and zeroing); ``other``
    is the rest of the step (Python glue). CPU time of the ranges on the
    CPU, device (kernel) time on a GPU. With ``steps > 1`` the times are
    medians over the profiled steps.

    Args:
        model, wrapper: As :func:`train_step`.
        inputs, samples: The batch.
        steps (int): Profiled steps.
        top (int): Also return the ``top`` operators by self time (as a
            text table); 0 for none.

    Returns:
        dict: ``ms`` (component -> ms, ``None`` where the model has no
        such component), ``step_ms``, ``share`` (component -> fraction of
        the step), and ``top_ops`` (str) when ``top > 0``.
    """
    from torch.profiler import ProfilerActivity, profile, record_function

    device = inputs.device
    use_cuda = device.type == 'cuda'
    acts = [ProfilerActivity.CPU
            ] + ([ProfilerActivity.CUDA] if use_cuda else [])
    kind = _model_kind(model)
    per_step: List[dict] = []
    table = None
    for _ in range(steps):
        with labelled_components(model), profile(activities=acts) as prof:
            with record_function('component:step'):
                with wrapper.optim_context(model):
                    loss = model.loss(inputs, samples)['loss']
                with record_function('component:backward'):
                    wrapper.backward(loss)
                with record_function('component:optimizer'):
                    wrapper.step()
                    wrapper.optimizer.zero_grad(set_to_none=False)
                _sync(device)
        events = {}
        for e in prof.key_averages():
            if e.key.startswith('component:'):
                t = e.device_time_total if use_cuda else e.cpu_time_total
                events[e.key.split(':', 1)[1]] = t / 1e3
        ms = {c: events.get(c) for c in COMPONENTS}
        if kind == 'SelectiveMAE':
            ms['selection'] = (
                events.get('psts', 0.) - (events.get('richness') or 0.))
        step = events['step']
        ms['other'] = max(step - sum(v for v in ms.values() if v), 0.)
        ms['step'] = step
        per_step.append(ms)
        if top:
            sort = 'self_cuda_time_total' if use_cuda else \
                'self_cpu_time_total'
            table = prof.key_averages().table(sort_by=sort, row_limit=top)
    keys = list(COMPONENTS) + ['other']
    med = {
        k: (None if per_step[0][k] is None else statistics.median(
            s[k] for s in per_step))
        for k in keys
    }
    step_ms = statistics.median(s['step'] for s in per_step)
    out = dict(
        ms={
            k: (None if v is None else round(v, 2))
            for k, v in med.items()
        },
        step_ms=round(step_ms, 2),
        share={
            k: (None if v is None else round(v / step_ms, 4))
            for k, v in med.items()
        })
    if table is not None:
        out['top_ops'] = table
    return out


def time_loaders(dataloader: dict,
                 data_root: str,
                 img_size: int,
                 batch_size: int,
                 num_workers: int,
                 batches: int = 10,
                 decodes: Sequence[str] = ('worker', 'device'),
                 device='cpu',
                 data_preprocessor: Optional[dict] = None,
                 seed: int = 0) -> Dict[str, dict]:
    """Images/s of a config's pretraining data path, per decode path.

    The config's ``train_dataloader`` on ``data_root`` with its crop scale
    set to ``img_size``, timed by
    :func:`selective_mae.datasets.loader_timing.time_data_path` (loader
    workers plus the data preprocessor on ``device``): ``'worker'`` decodes
    in the workers (the config's pipeline), ``'device'`` reads bytes in the
    workers and decodes in the preprocessor.

    Returns:
        dict: decode path -> the timing dict, plus ``data_root``.
    """
    from selective_mae.datasets.loader_timing import time_data_path

    cfg = copy.deepcopy(dataloader)
    cfg['dataset'] = dict(cfg['dataset'], data_root=data_root)
    pipeline = []
    for t in cfg['dataset'].get('pipeline', []):
        t = dict(t)
        if 'scale' in t and t['type'] in ('LoadRandomResizedCrop',
                                          'RandomResizedCrop'):
            t['scale'] = img_size
        pipeline.append(t)
    cfg['dataset']['pipeline'] = pipeline
    out = {}
    for decode in decodes:
        r = time_data_path(
            cfg,
            decode=decode,
            data_preprocessor=data_preprocessor,
            num_workers=num_workers,
            batch_size=batch_size,
            batches=batches,
            device=device,
            seed=seed)
        r['data_root'] = data_root
        out[decode] = r
    return out
