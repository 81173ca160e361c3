# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: how long the login matrix takes for 1, 3, 5 and 9 real nodes on loopback.

Prints figures; asserts nothing about time (this is a benchmark, not a test). Each node is a real
registry (distribution) + the core double + nginx. Timed twice: the module_utils matrix alone (the
requests), and the whole module run through ansible (process start, module transfer, JSON).
"""

import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'functional'))

from ansible_collections.registryops.harbor_ha.plugins.module_utils._registry_auth import (  # noqa: E402
    HTTPClient, RegistryProbe, Target, run_matrix,
)
from conftest import run_module  # noqa: E402  pylint: disable=wrong-import-position
from registry_nodes import Lab, TokenKeyPair  # noqa: E402  pylint: disable=wrong-import-position

PASSWORD = 'Bench-Passw0rd-1'
REPEAT = 5


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [1, 3, 5, 9]
    keys = Lab()
    key = TokenKeyPair(os.path.join(keys.workdir, 'key'))
    print('%-6s %-6s %-22s %-22s %s' % ('nodes', 'pairs', 'matrix median (min)', 'module via ansible', 'requests'))
    for size in sizes:
        lab = Lab()
        try:
            nodes = [lab.add_node('n%d' % i, key, PASSWORD) for i in range(1, size + 1)]
            lab.start()
            probe = RegistryProbe(HTTPClient(timeout=10), 'admin', PASSWORD, 'harbor-registry')
            targets = [Target(n.name, n.url) for n in nodes]
            times = []
            for _i in range(REPEAT):
                started = time.perf_counter()
                _nodes, matrix, _endpoint = run_matrix(probe, targets, api='v2')
                times.append(time.perf_counter() - started)
                assert all(p['ok'] for p in matrix), [p for p in matrix if not p['ok']]
            started = time.perf_counter()
            result = run_module(dict(nodes=[{'name': n.name, 'url': n.url} for n in nodes], password=PASSWORD, harbor_api='v2'))
            module_time = time.perf_counter() - started
            assert not result.get('failed'), result.get('msg')
            # per node: ping + health + challenge + token; per pair: one /v2/
            requests = size * 4 + size * size
            print('%-6d %-6d %-22s %-22s %d' % (size, size * size, '%.3f s (%.3f s)' % (statistics.median(times), min(times)),
                                                '%.2f s (in-module %.3f s)' % (module_time, result['elapsed']), requests))
        finally:
            lab.close()
    keys.close()


if __name__ == '__main__':
    main()
