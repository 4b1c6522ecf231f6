"""Time ``import selective_mae`` with and without the import guard.

The guard (``selective_mae/utils/import_guard.py``) hides mmdet & co. while
the plugin imports its modules, so mmpretrain's optional ``import mmdet``
fails fast instead of importing the detection stack. Each run is a fresh
interpreter that times the import statement alone, in wall-clock and in
CPU seconds (the CPU time varies less on a busy machine); the two variants
alternate, and the table gives the median of ``--runs`` runs each::

    python tools/analysis_tools/import_time.py --runs 7 --out import_time.json
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# Without the guard: a stand-in module whose context manager does nothing
# is put in place before the package imports it.
_NO_GUARD = """
import contextlib, sys, types
stub = types.ModuleType('selective_mae.utils.import_guard')
stub.downstream_imports_hidden = contextlib.nullcontext
sys.modules['selective_mae.utils.import_guard'] = stub
"""

_TIMED = """
import sys, time
t0, c0 = time.perf_counter(), time.process_time()
import selective_mae
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
print(wall, cpu, int('mmdet' in sys.modules))
"""


def time_once(guard):
    code = ('' if guard else _NO_GUARD) + _TIMED
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    out = subprocess.run([sys.executable, '-c', code], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    wall, cpu, mmdet = out.split()[-3:]
    return float(wall), float(cpu), bool(int(mmdet))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=7,
                        help='runs per variant (default 7)')
    parser.add_argument('--out', help='write the numbers as JSON here')
    args = parser.parse_args(argv)
    wall = {True: [], False: []}
    cpu = {True: [], False: []}
    mmdet = {}
    time_once(True)  # warm the file cache
    for _ in range(args.runs):
        for guard in (True, False):
            w, c, loaded = time_once(guard)
            wall[guard].append(w)
            cpu[guard].append(c)
            mmdet[guard] = loaded
    med_wall = {g: statistics.median(t) for g, t in wall.items()}
    med_cpu = {g: statistics.median(t) for g, t in cpu.items()}
    print(f'{"variant":<14} {"wall s (median)":>16} {"CPU s (median)":>15} '
          f'{"CPU s min-max":>14} {"imports mmdet":>14}')
    for guard, name in ((True, 'with guard'), (False, 'without guard')):
        c = cpu[guard]
        print(f'{name:<14} {med_wall[guard]:>16.2f} {med_cpu[guard]:>15.2f} '
              f'{f"{min(c):.2f}-{max(c):.2f}":>14} {str(mmdet[guard]):>14}')
    print(f'saved by the guard (medians): '
          f'{med_wall[False] - med_wall[True]:.2f} s wall, '
          f'{med_cpu[False] - med_cpu[True]:.2f} s CPU')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(
                dict(runs=args.runs,
                     wall=dict(with_guard=wall[True],
                               without_guard=wall[False]),
                     cpu=dict(with_guard=cpu[True],
                              without_guard=cpu[False]),
                     median_wall=dict(with_guard=med_wall[True],
                                      without_guard=med_wall[False]),
                     median_cpu=dict(with_guard=med_cpu[True],
                                     without_guard=med_cpu[False]),
                     mmdet_imported=dict(with_guard=mmdet[True],
                                         without_guard=mmdet[False])),
                f, indent=1)


if __name__ == '__main__':
    main()
