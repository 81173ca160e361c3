"""Benchmark of site.yml for 1, 3 and 5 Harbor nodes on one lab: prints figures, asserts nothing.

  make bench-site                                  (BENCH_ARGS="--sizes 1,3,5 --keep" to pass options)
  python tests/bench/site_bench.py [--sizes 1,3,5] [--keep]

The lab is molecule scenario `bench` (molecule/bench/molecule.yml: bench-services, bench-harbor1..9, bench-lb,
bench-client on network harbor-ha-bench, 10.233.0.0/24), next to the `default` and `legacy` labs and never touching
them. When it is not running, the script creates and prepares it (`molecule create -s bench`, `molecule prepare -s
bench`, the same prepare as scenario default); at the end it destroys it, unless --keep.

For each cluster size N (in the order given), site.yml runs (molecule/bench/converge.yml, with the ansible.cfg
molecule uses for the scenario) with an inventory of its own: molecule's inventory with only N Harbor nodes in
harbor_nodes, written to <molecule ephemeral directory>/bench/size-N/hosts.yml beside links to the scenario's
group_vars and host_vars (not into molecule's own inventory directory: molecule passes that whole directory to
every run, so another file there would join its inventory). Each size gets nodes that never ran Harbor (a node
without /etc/docker/daemon.json, which the first converge writes); the nodes of earlier sizes are stopped (docker
stop), and molecule/bench/reset.yml drops the Harbor database and its user, empties Redis and gives the cluster an
empty share directory; the key set directory is new too. The load balancer and the client serve every size (each
first converge gives them the new backends and CA; the client's engine is set up only in the first size's run). The
nine nodes of the lab cover 1 + 3 + 5; a kept lab without enough fresh nodes left is recreated first. Three runs per size, each timed as a whole and by the
`harbor` line of ansible.posix.profile_roles (the two Harbor plays: install/configure, rolling restart):

  * first converge: site.yml on the fresh nodes (key set, database, share, engines, Harbor, HAProxy, client);
  * no-op re-run: site.yml again; the changed count of its PLAY RECAP is printed (goal: 0);
  * one setting changed: site.yml with harbor_log_level=debug (nodes start at the role's default, info): a new
    harbor.yml, prepare, then each node restarts once, one at a time, drained from HAProxy, while the client pulls
    an image through the load balancer in a loop; the ok and failed pulls during that run are printed (goal: 0
    failed).

Then one table, and the ratios no-op(5)/no-op(3) and first converge(5)/first converge(1) when those sizes ran.
A failing run stops the script with the tail of its output; every run's full output is in build/bench/.
"""

import argparse
import glob
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading
import time

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = REPO / '.venv' / 'bin'
SCENARIO = 'bench'
SCENARIO_DIR = REPO / 'molecule' / SCENARIO
LOGS = REPO / 'build' / 'bench'
CHANGED_SETTING = ('harbor_log_level', 'debug')


def env(**extra):
    e = dict(os.environ)
    e['PATH'] = '%s:%s' % (BIN, e.get('PATH', ''))
    e.setdefault('ANSIBLE_COLLECTIONS_PATH', '%s:%s' % (REPO / 'build/collections', REPO / '.venv/lib/python3.11/site-packages'))
    e['ANSIBLE_NOCOLOR'] = '1'
    e.update(extra)
    return e


def log(message):
    print('==> site bench: %s' % message, file=sys.stderr, flush=True)


def tail(text, lines=60):
    return '\n'.join(text.rstrip().splitlines()[-lines:])


def run(cmd, name, check=True, **extra_env):
    """Run a command from the repository root, output into build/bench/<name>.log; return (seconds, proc)."""
    LOGS.mkdir(parents=True, exist_ok=True)
    started = time.time()
    proc = subprocess.run([str(c) for c in cmd], cwd=str(REPO), env=env(**extra_env), capture_output=True, text=True,
                          check=False)
    elapsed = time.time() - started
    logfile = LOGS / ('%s.log' % name)
    logfile.write_text('$ %s\n%s\n%s' % (' '.join(map(str, cmd)), proc.stdout, proc.stderr))
    if check and proc.returncode != 0:
        sys.exit('site bench: %s failed (rc %d), full output in %s; its tail:\n%s\n%s'
                 % (name, proc.returncode, logfile, tail(proc.stdout), tail(proc.stderr, 20)))
    return elapsed, proc


def molecule(command, check=True):
    log('molecule %s -s %s' % (command, SCENARIO))
    return run([BIN / 'molecule', command, '-s', SCENARIO], 'molecule-%s' % command, check=check)


def ephemeral_dir():
    """Molecule's ephemeral directory of the scenario (inventory, ansible.cfg, the lab's SSH key): the one whose
    inventory links point into this checkout (molecule names it after a hash of the checkout's directory name)."""
    for path in sorted(glob.glob(os.path.expanduser('~/.ansible/tmp/molecule.*.%s' % SCENARIO)), key=os.path.getmtime,
                       reverse=True):
        inventory = pathlib.Path(path) / 'inventory'
        if ((inventory / 'ansible_inventory.yml').is_file() and (inventory / 'group_vars').is_symlink()
                and pathlib.Path(os.path.realpath(inventory / 'group_vars')).is_relative_to(REPO)):
            return pathlib.Path(path)
    sys.exit('site bench: no molecule inventory of scenario %s for %s under ~/.ansible/tmp' % (SCENARIO, REPO))


def docker(*args):
    return subprocess.run(['docker'] + list(args), capture_output=True, text=True, check=False)


def running(container):
    return docker('inspect', '-f', '{{.State.Running}}', container).stdout.strip() == 'true'


def fresh(node):
    """A node that never ran site.yml past preflight: the image has no /etc/docker/daemon.json, the first converge
    writes one (docker_engine). docker cp reads stopped containers too."""
    return docker('cp', '%s:/etc/docker/daemon.json' % node, '-').returncode != 0


def platforms():
    with open(SCENARIO_DIR / 'molecule.yml', encoding='utf-8') as handle:
        return yaml.safe_load(handle)['platforms']


def harbor_nodes():
    return [p['name'] for p in platforms() if 'harbor_nodes' in p.get('groups', [])]


def lab_up(needed):
    """Create and prepare the bench lab unless it runs; recreate it when fewer than `needed` fresh nodes are left."""
    created = False
    if not running(platforms()[0]['name']):
        molecule('destroy', check=False)   # clears molecule's state of a lab whose containers are gone
        molecule('create')
        created = True
    else:
        left = [n for n in harbor_nodes() if fresh(n)]
        if len(left) < needed:
            log('the running bench lab has %d fresh Harbor nodes, %d needed: recreating it' % (len(left), needed))
            molecule('destroy')
            molecule('create')
            created = True
    molecule('prepare')   # a no-op on a prepared lab (molecule's state file)
    return created


def size_inventory(eph, size, nodes):
    """Molecule's inventory with only `nodes` in harbor_nodes, in a directory beside molecule's inventory with the
    same group_vars and host_vars links. Returns the path of hosts.yml."""
    with open(eph / 'inventory' / 'ansible_inventory.yml', encoding='utf-8') as handle:
        full = yaml.safe_load(handle)
    others = set(harbor_nodes()) - set(nodes)
    keep = {h: v for h, v in full['all']['hosts'].items() if h not in others}
    groups = {g: {'hosts': {h: None for h in (d or {}).get('hosts', {}) if h in keep}}
              for g, d in full.items() if g not in ('all', 'ungrouped')}
    directory = eph / 'bench' / ('size-%d' % size)
    directory.mkdir(parents=True, exist_ok=True)
    for link in ('group_vars', 'host_vars'):
        target = directory / link
        if target.is_symlink() or target.exists():
            target.unlink()
        target.symlink_to(os.readlink(eph / 'inventory' / link))
    hosts = directory / 'hosts.yml'
    hosts.write_text('# Written by tests/bench/site_bench.py: the bench lab with %d Harbor node(s), %s.\n%s'
                     % (size, ', '.join(nodes), yaml.safe_dump({'all': {'hosts': keep, 'children': groups}},
                                                               default_flow_style=False, sort_keys=False)))
    return hosts


def playbook(inventory, playbook_path, name, *extra, **extra_env):
    """ansible-playbook with molecule's ansible.cfg of the scenario and the per-role times; returns a result dict."""
    elapsed, proc = run([BIN / 'ansible-playbook', '-i', inventory, playbook_path] + list(extra), name,
                        ANSIBLE_CONFIG=str(inventory.parents[2] / 'ansible.cfg'),
                        ANSIBLE_CALLBACKS_ENABLED='ansible.posix.profile_roles', **extra_env)
    harbor = re.search(r'^harbor -+ ([0-9.]+)s$', proc.stdout, re.M)
    recap = re.findall(r'^\S+\s+: ok=\d+\s+changed=(\d+)\s', proc.stdout, re.M)
    return {'total': elapsed, 'harbor': float(harbor.group(1)) if harbor else float('nan'),
            'changed': sum(map(int, recap)), 'load': os.getloadavg()[0]}


def inventory_value(inventory, expression):
    """A templated inventory value seen from the first Harbor node (ansible-inventory does not template)."""
    out = subprocess.run([str(BIN / 'ansible'), '-i', str(inventory), 'harbor_nodes[0]', '-o', '-m', 'ansible.builtin.debug',
                          '-a', 'msg={{ %s }}' % expression],
                         capture_output=True, text=True, env=env(), check=True).stdout
    return json.loads(out.split('=> ', 1)[1])['msg']


def pull_loop(stop, counts, client, image):
    while not stop.is_set():
        docker('exec', client, 'docker', 'rmi', image)
        ok = docker('exec', client, 'docker', 'pull', image).returncode == 0
        counts['ok' if ok else 'failed'] += 1
        time.sleep(0.2)


def bench_size(eph, size, nodes, used):
    """First converge, no-op and one-setting-changed runs of site.yml on `nodes`; returns the figures."""
    for node in used:
        if running(node):
            log('stopping %s (an earlier cluster size)' % node)
            docker('stop', node)
    inventory = size_inventory(eph, size, nodes)
    started = [n for n in nodes if not running(n)]
    for node in started:
        docker('start', node)
    if started:
        playbook(inventory, REPO / 'tests/lab/prepare/boot.yml', 'size%d-boot' % size)
    log('%d node(s): %s; resetting database, Redis and share' % (size, ', '.join(nodes)))
    playbook(inventory, SCENARIO_DIR / 'reset.yml', 'size%d-reset' % size)
    keyset = eph / 'bench' / ('keyset-%d' % size)
    shutil.rmtree(keyset, ignore_errors=True)
    keyset_env = {'HARBOR_BENCH_KEYSET_DIR': str(keyset)}
    converge = SCENARIO_DIR / 'converge.yml'
    result = {'nodes': nodes}
    log('%d node(s): first converge' % size)
    result['first'] = playbook(inventory, converge, 'size%d-first' % size, **keyset_env)
    log('%d node(s): no-op re-run' % size)
    result['noop'] = playbook(inventory, converge, 'size%d-noop' % size, **keyset_env)

    hostname, password = inventory_value(inventory, '[harbor_hostname, harbor_admin_password]')
    client = sorted(yaml.safe_load(inventory.read_text())['all']['children']['registry_clients']['hosts'])[0]
    image = '%s/library/bench:1' % hostname
    setup = ("printf bench > /var/tmp/bench && tar -C /var/tmp -c bench | docker import - {img} >/dev/null && "
             'echo "$BENCH_PASSWORD" | docker login -u admin --password-stdin {host} >/dev/null && docker push {img} >/dev/null').format(
                 img=image, host=hostname)
    pushed = subprocess.run(['docker', 'exec', '-e', 'BENCH_PASSWORD=' + password, client, 'sh', '-c', setup],
                            capture_output=True, text=True, check=False)
    if pushed.returncode != 0:
        sys.exit('site bench: pushing %s from %s failed:\n%s%s' % (image, client, pushed.stdout, pushed.stderr))
    counts = {'ok': 0, 'failed': 0}
    stop = threading.Event()
    puller = threading.Thread(target=pull_loop, args=(stop, counts, client, image))
    puller.start()
    log('%d node(s): re-run with %s=%s (rolling restart), pulling through the LB meanwhile' % ((size,) + CHANGED_SETTING))
    try:
        result['change'] = playbook(inventory, converge, 'size%d-change' % size, '-e', '%s=%s' % CHANGED_SETTING,
                                    **keyset_env)
    finally:
        stop.set()
        puller.join()
    result['pulls'] = counts
    log('%d node(s): done (first %.0f s, no-op %.0f s changed=%d, change %.0f s, pulls %d ok / %d failed)'
        % (size, result['first']['total'], result['noop']['total'], result['noop']['changed'],
           result['change']['total'], counts['ok'], counts['failed']))
    return result


def report(results):
    print()
    print('site.yml on the bench lab (molecule scenario bench, Harbor %s double, %d CPUs); seconds, whole run / harbor plays'
          % (yaml.safe_load((REPO / 'tests/lab/bench/group_vars/all/harbor.yml').read_text())['harbor_version'],
             os.cpu_count()))
    header = ('nodes', 'first converge', 'no-op re-run (changed)', 'one setting changed', 'pulls ok/failed', 'load')
    rows = []
    for size, r in results.items():
        loads = [r[k]['load'] for k in ('first', 'noop', 'change')]
        rows.append(('%d' % size,
                     '%.1f / %.1f' % (r['first']['total'], r['first']['harbor']),
                     '%.1f / %.1f (changed=%d)' % (r['noop']['total'], r['noop']['harbor'], r['noop']['changed']),
                     '%.1f / %.1f' % (r['change']['total'], r['change']['harbor']),
                     '%d / %d' % (r['pulls']['ok'], r['pulls']['failed']),
                     '%.1f-%.1f' % (min(loads), max(loads))))
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    for row in [header, tuple('-' * w for w in widths)] + rows:
        print(' | '.join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())
    print('(load: the 1-minute load average at the end of the three runs; another lab may share the machine)')
    if 1 in results:
        print('(1 node: its pulls fail while it restarts, drained: there is no other node to serve them)')
    print()
    for run_name, label, a, b in (('noop', 'no-op', 5, 3), ('first', 'first converge', 5, 1)):
        if a in results and b in results:
            ra, rb = results[a][run_name], results[b][run_name]
            print('%s(%d)/%s(%d): %.2f (whole run), %.2f (harbor plays)'
                  % (label, a, label, b, ra['total'] / rb['total'], ra['harbor'] / rb['harbor']))
    for size, r in results.items():
        print('%d node(s): %s' % (size, ', '.join(r['nodes'])))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--sizes', default='1,3,5', help='cluster sizes to measure, in this order (default 1,3,5)')
    parser.add_argument('--keep', action='store_true', help='leave the bench lab up afterwards (default: destroy it)')
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(',') if s.strip()]
    pool = harbor_nodes()
    if not sizes or min(sizes) < 1 or sum(sizes) > len(pool):
        parser.error('--sizes: positive sizes whose sum is at most %d (the Harbor nodes of molecule/bench)' % len(pool))
    if len(set(sizes)) != len(sizes):
        parser.error('--sizes: each size once')
    results, eph = {}, None
    try:
        lab_up(sum(sizes))
        eph = ephemeral_dir()
        available = [n for n in pool if fresh(n)]
        used = [n for n in pool if n not in available]
        for size in sizes:
            nodes, available = available[:size], available[size:]
            results[size] = bench_size(eph, size, nodes, used)
            used += nodes
    finally:
        if not args.keep:
            molecule('destroy', check=False)
            if eph:
                shutil.rmtree(eph / 'bench', ignore_errors=True)   # the size inventories and key sets
        if results:
            report(results)


if __name__ == '__main__':
    main()
