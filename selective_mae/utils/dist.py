"""Distributed set-up for machines without a GPU.

mmengine's PyTorch launcher calls ``torch.cuda.set_device`` and wraps models
in DDP with ``device_ids=[local_rank]``; both fail on a CPU-only machine.
:func:`setup_cpu_distributed` prepares a config so ``torchrun`` /
``tools/dist_train.sh`` also runs there, on the gloo backend. With a GPU it
changes nothing.
"""
import torch
import torch.distributed as torch_dist


def setup_cpu_distributed(cfg, launcher):
    """Init gloo and a CPU-friendly DDP wrapper when no GPU is visible.

    Args:
        cfg (Config): The run's config; ``model_wrapper_cfg`` and
            ``env_cfg.dist_cfg`` are set in place.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise RuntimeError(
            f'--launcher {launcher} needs GPUs; on a CPU-only machine use '
            'tools/dist_train.sh (torchrun, --launcher pytorch)')
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    cfg.env_cfg.dist_cfg.backend = 'gloo'
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg.device_ids = None  # a CPU module takes none
    if not torch_dist.is_initialized():
        # torchrun's environment (MASTER_ADDR, RANK, ...) tells the rest
        torch_dist.init_process_group(backend='gloo')
