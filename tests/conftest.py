"""Fixtures shared by the whole suite."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run_tool(args, timeout=600, env=None, check=True):
    """Run a project command line (``tools/*.py`` or ``*.sh``) as a user
    would, from the repository root, with this interpreter.

    Args:
        args (list[str]): The command; a first item ending in ``.py`` is run
            with this Python, one ending in ``.sh`` with bash.
        timeout (int): Seconds before the command is killed.
        env (dict, optional): Extra environment variables.
        check (bool): Fail the test (showing the output's end) on a
            non-zero exit.

    Returns:
        subprocess.CompletedProcess: With ``stdout`` holding stdout and
        stderr together.
    """
    args = [str(a) for a in args]
    if args[0].endswith('.py'):
        args = [sys.executable] + args
    elif args[0].endswith('.sh'):
        args = ['bash'] + args
    full_env = dict(os.environ)
    full_env['PYTHONPATH'] = REPO + os.pathsep + full_env.get('PYTHONPATH', '')
    full_env['PYTHON'] = sys.executable
    full_env.setdefault('OMP_NUM_THREADS', '1')
    full_env.update(env or {})
    proc = subprocess.run(
        args, cwd=REPO, env=full_env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(f'{" ".join(args)} exited with {proc.returncode}:\n'
                    f'{proc.stdout[-6000:]}')
    return proc


@pytest.fixture(scope='session')
def repo_root():
    return REPO


@pytest.fixture(scope='session')
def demo_data(tmp_path_factory):
    """32 generated demo scenes (128 px) with a train.txt list file."""
    from selective_mae.datasets.demo_data import generate_demo_dataset
    root = str(tmp_path_factory.mktemp('demo_rs'))
    paths = generate_demo_dataset(root, num_images=32, size=128, seed=0)
    with open(osp.join(root, 'train.txt'), 'w') as f:
        f.write('\n'.join(paths) + '\n')
    return root


@pytest.fixture(scope='session')
def demo_labelled(tmp_path_factory):
    """Held-out labelled demo scenes: 5 types x 8, 64 px, class folders."""
    from selective_mae.datasets.demo_data import \
        generate_labelled_demo_dataset
    root = str(tmp_path_factory.mktemp('demo_labelled'))
    generate_labelled_demo_dataset(root, num_per_class=8, size=64, seed=0)
    return root


@pytest.fixture(scope='session')
def tool():
    """:func:`run_tool`, as a fixture."""
    return run_tool


@pytest.fixture(autouse=True, scope='session')
def one_torch_thread():
    """One intra-op thread for in-process torch code. The suite's models are
    tiny and the machines it runs on have 2 cores, shared with data-loader
    workers and tool subprocesses; more threads only contend (measured about
    3x slower on a loaded 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def fresh_message_hubs():
    """Each test starts without the message hubs of earlier ones. mmengine
    names a runner's hub after its timestamp, so two runners built in the
    same second of one process share one (and with it ``keep_ckpt_ids``,
    ``last_ckpt`` and the like): a test would see another's checkpoints."""
    from mmengine.logging import MessageHub
    MessageHub._instance_dict.clear()
    yield
    MessageHub._instance_dict.clear()
