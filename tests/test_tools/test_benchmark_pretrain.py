"""tools/analysis_tools/benchmark_pretrain.py: MAE vs SelectiveMAE steps."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = 'tools/analysis_tools/benchmark_pretrain.py'


@pytest.fixture(scope='module')
def bench():
    spec = importlib.util.spec_from_file_location('benchmark_pretrain',
                                                  osp.join(REPO, TOOL))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    import selective_mae  # noqa: F401
    from mmengine.registry import init_default_scope
    init_default_scope('mmpretrain')
    return mod


def _hand_count_gmacs(L=196,
                      n_vis=29,
                      n_rec=49,
                      D=768,
                      depth=12,
                      C=512,
                      dec_depth=8,
                      pixels=768):
    """Forward MACs per image, written out (spec: selectivemae.md)."""
    patch_embed = L * D * pixels

    def encoder(n):  # n tokens incl. cls: qkv + proj + MLP(4x) + attention
        return depth * (n * 12 * D * D + 2 * n * n * D)

    n_enc = 1 + int(L * 0.25)
    mae_dec = n_enc * D * C + dec_depth * (
        (L + 1) * 12 * C * C + 2 * (L + 1)**2 * C) + (L + 1) * C * pixels
    mae = patch_embed + encoder(n_enc) + mae_dec
    m = 1 + n_vis  # cross-attention memory
    sel_dec = m * D * C + dec_depth * (n_rec * 10 * C * C + m * 2 * C * C +
                                       2 * n_rec * m * C) + (
                                           n_rec * C * pixels)
    # cosine similarity of the patch embeddings to the tokens selected
    # before each similarity round (near stage: 14 seeds, then 8 more)
    n_seed = n_vis // 2
    psts = L * (n_seed + (n_vis - n_seed + 1) // 2) * D
    sel = patch_embed + encoder(m) + sel_dec + psts
    return mae / 1e9, sel / 1e9


def test_flops_ratio_matches_hand_count_at_vit_b(bench):
    from mmpretrain.registry import MODELS
    args = bench.parse_args(['--arch', 'b'])
    mae_cfg, sel_cfg = bench.model_cfgs(args)
    got = {}
    for name, cfg in (('mae', mae_cfg), ('sel', sel_cfg)):
        model = MODELS.build(cfg)  # FLOPs do not depend on the init
        got[name], parts = bench.count_flops(model, 224, 'cpu')
        got[name] /= 1e9
    hand_mae, hand_sel = _hand_count_gmacs()
    assert hand_mae == pytest.approx(9.78, abs=0.01)  # spec: about 9.7 G
    assert hand_sel == pytest.approx(3.874, abs=0.01)  # spec: about 3.8 G
    assert got['mae'] == pytest.approx(hand_mae, rel=0.05)
    assert got['sel'] == pytest.approx(hand_sel, rel=0.05)
    ratio = got['mae'] / got['sel']
    assert ratio == pytest.approx(hand_mae / hand_sel, rel=0.05)
    assert ratio == pytest.approx(2.49, rel=0.05)  # spec's figure
    # the selector's similarity columns are counted, the attention too
    assert parts['selector'] == pytest.approx(196 * 22 * 768, rel=0.1)


def test_sdpa_handle_counts_attention(bench):
    from mmengine.analysis import FlopAnalyzer

    class Attn(torch.nn.Module):

        def forward(self, q, k, v):
            return torch.nn.functional.scaled_dot_product_attention(q, k, v)

    q = torch.randn(2, 4, 10, 8)
    k = torch.randn(2, 4, 6, 8)
    v = torch.randn(2, 4, 6, 16)
    fa = FlopAnalyzer(Attn(), (q, k, v))
    fa.set_op_handle('aten::scaled_dot_product_attention', bench.sdpa_flop_jit)
    fa.unsupported_ops_warnings(False)
    assert fa.total() == 2 * 4 * 10 * 6 * (8 + 16)


def test_cpu_memory_probe_sees_an_allocation(bench):
    if not bench.MemoryProbe('cpu').can_reset:
        pytest.skip('no /proc/self/clear_refs')
    # A fresh process with the malloc settings the tool runs under: in this
    # long-lived test process, freed memory may be reused without touching
    # the resident-set high-water mark the probe reads.
    code = (
        'import importlib.util, torch\n'
        f'spec = importlib.util.spec_from_file_location("b", {TOOL!r})\n'
        'b = importlib.util.module_from_spec(spec)\n'
        'spec.loader.exec_module(b)\n'
        'probe = b.MemoryProbe("cpu")\n'
        'with probe:\n'
        '    x = torch.ones(16 * 2**20)  # 64 MiB\n'
        '    del x\n'
        'print(probe.peak)\n')
    out = subprocess.run(
        [sys.executable, '-c', code], cwd=REPO, check=True, text=True,
        capture_output=True, env=dict(os.environ, **bench.MALLOC_ENV,
                                      PYTHONPATH=REPO))
    peak = int(out.stdout.split()[-1])
    assert 60 * 2**20 < peak < 100 * 2**20


def test_tool_writes_json_markdown_png(tool, demo_data, tmp_path):
    out = tmp_path / 'bench'
    proc = tool([
        TOOL, '--arch', 'deit-tiny', '--num-layers', '2', '--img-size', '64',
        '--decoder-depth', '1', '--decoder-dim', '64', '--decoder-heads', '4',
        '--batch', '4', '--warmup', '1', '--repeats', '3', '--threads', '1',
        '--profile-steps', '1', '--data-root', demo_data, '--workers', '0',
        '--loader-batches', '2', '--out-dir', out
    ])
    res = json.loads((out / 'benchmark.json').read_text())
    s = res['settings']
    assert (s['arch'], s['img_size'], s['batch'],
            s['dtype']) == ('deit-tiny', 64, 4, 'fp32')
    assert s['tokens'] == '2 visible (1 seeds) + 4 targets of 16'
    assert s['optim'] == ['config', 'plain']
    assert res['machine']['cpu_count'] >= 1
    for mode in ('config', 'plain'):
        for name in ('MAE', 'SelectiveMAE'):
            row = res['runs'][mode][name]
            assert len(row['step_time_ms_all']) == 3
            med = sorted(row['step_time_ms_all'])[1]
            assert row['step_time_ms'] == pytest.approx(med, abs=0.01)
            assert row['images_per_s'] == pytest.approx(
                4 / (med / 1e3), rel=0.01)
            assert row['peak_mem_mib'] > 0
            assert torch.isfinite(torch.tensor(row['final_loss']))
        r = res['ratios_by_mode'][mode]['SelectiveMAE']
        rows = res['runs'][mode]
        assert r['speedup_images_per_s'] == pytest.approx(
            rows['SelectiveMAE']['images_per_s'] / rows['MAE']['images_per_s'],
            abs=1e-2)
    # each model with its own config's optimizer set-up (two groups), and
    # with one plain AdamW group
    for name in ('MAE', 'SelectiveMAE'):
        assert res['runs']['config'][name]['optimizer']['param_groups'] == 2
        assert res['runs']['plain'][name]['optimizer']['param_groups'] == 1
    mae, sel = res['models']['MAE'], res['models']['SelectiveMAE']
    assert mae['step_time_ms'] == res['runs']['config']['MAE']['step_time_ms']
    for row in (mae, sel):
        assert row['forward_gmacs_per_image'] > 0
    r = res['ratios']
    assert r['flops'] == pytest.approx(
        sel['forward_gmacs_per_image'] / mae['forward_gmacs_per_image'],
        abs=1e-3)
    # fewer encoded tokens and targets: SelectiveMAE does less work
    assert mae['forward_gmacs_per_image'] > sel['forward_gmacs_per_image']
    # per-component times from the profiler ranges
    comp = res['components']
    for key in ('richness', 'selection', 'encoder', 'decoder', 'loss',
                'backward', 'optimizer'):
        assert comp['SelectiveMAE']['ms'][key] > 0
    assert comp['MAE']['ms']['richness'] is None
    assert comp['MAE']['ms']['encoder'] > 0
    for c in comp.values():
        parts = sum(v for v in c['ms'].values() if v)
        assert parts == pytest.approx(c['step_ms'], rel=0.02)
    assert 0 < res['richness_selection_share'] < 1
    # the data path with both decode paths
    for decode in ('worker', 'device'):
        ld = res['loader'][decode]
        assert ld['decode'] == decode and ld['workers'] == 0
        assert ld['images'] == 8 and ld['images_per_s'] > 0
        assert res['bottleneck'][decode] in ('model', 'data loader')
    md = (out / 'benchmark.md').read_text()
    assert '| config | SelectiveMAE |' in md and 'peak memory' in md
    assert '| richness |' in md and '| optimizer |' in md
    assert 'Data path, device decode' in md
    png = (out / 'benchmark.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 10000
    assert 'wrote' in proc.stdout


def test_measurement_lives_in_the_package(bench):
    """The tool reports; what it measures is importable without it."""
    from selective_mae.benchmark import pretrain_step
    assert bench.time_steps is pretrain_step.time_steps
    assert bench.profile_components is pretrain_step.profile_components
    src = open(osp.join(REPO, TOOL)).read()
    assert 'benchmark_loader' not in src  # loader timing is shared code
    assert 'time_loaders' in src


def test_state_bytes_counts_weights_grads_and_adamw_state(bench):
    model = torch.nn.Linear(10, 3)  # 33 parameters in 2 tensors
    opt = torch.optim.AdamW(model.parameters())
    assert bench.state_bytes(model, opt) == 33 * 4
    model(torch.randn(2, 10)).sum().backward()
    opt.step()
    # weights, grads, exp_avg, exp_avg_sq (fp32) + one fp32 step per tensor
    assert bench.state_bytes(model, opt) == 4 * 33 * 4 + 2 * 4


def test_selectivemae_step_under_bf16_autocast(bench):
    """``--dtype bf16``: the PSTS similarity rounds must survive autocast
    (they used to fill a bf16 matrix with the float32 minimum)."""
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample
    args = bench.parse_args([
        '--arch', 'deit-tiny', '--num-layers', '1', '--img-size', '64',
        '--decoder-depth', '1', '--decoder-dim', '64', '--decoder-heads', '4'
    ])
    model = MODELS.build(bench.model_cfgs(args)[1])
    x = torch.randn(2, 3, 64, 64)
    for t in (0., 0.5, 0.9):  # near, far, random rounds
        model.selector.set_progress(t)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            tokens, _ = model.backbone.embed(x)
            ids_vis, ids_rec = model.selector(x, tokens, 16)
            loss = model.loss(x, [DataSample(), DataSample()])['loss']
        assert ids_vis.shape == (2, 2) and ids_rec.shape == (2, 4)
        both = torch.cat([ids_vis, ids_rec], 1)
        assert all(len(set(row.tolist())) == 6 for row in both)
        assert torch.isfinite(loss)
        loss.backward()
