"""Benchmark of site.yml on the local lab: prints figures, asserts nothing.

  make bench-site            (a running lab is reused; without one it is created and prepared first)

Figures:
  * first converge: site.yml on freshly created hosts (only when this script created the lab, or with
    --fresh, which destroys and recreates it first);
  * no-op re-run: site.yml again, nothing to change (and the ratio first / no-op);
  * rolling re-run: site.yml with a changed Harbor setting (harbor_log_level), so prepare runs and every
    node restarts one at a time, while the client pulls through the load balancer in a loop: the number of
    failed pulls (goal: 0).
"""

import argparse
import glob
import json
import os
import pathlib
import re
import subprocess
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = REPO / '.venv' / 'bin'


def env():
    e = dict(os.environ)
    e['PATH'] = '%s:%s' % (BIN, e.get('PATH', ''))
    e.setdefault('ANSIBLE_COLLECTIONS_PATH', '%s:%s' % (REPO / 'build/collections', REPO / '.venv/lib/python3.11/site-packages'))
    return e


def run(cmd, check=True):
    started = time.time()
    environment = env()
    # Per-role times at the end of the output (the harbor role's time is the Harbor plays' time).
    environment['ANSIBLE_CALLBACKS_ENABLED'] = 'ansible.posix.profile_roles'
    proc = subprocess.run(cmd, cwd=str(REPO), env=environment, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise SystemExit('%s failed:\n%s%s' % (' '.join(cmd), proc.stdout[-4000:], proc.stderr[-2000:]))
    return time.time() - started, proc


def inventory(scenario):
    paths = sorted(glob.glob(os.path.expanduser('~/.ansible/tmp/molecule.*.%s/inventory' % scenario)), key=os.path.getmtime)
    return paths[-1] if paths else None


def lab_running():
    return subprocess.run(['docker', 'inspect', 'harbor1'], capture_output=True, check=False).returncode == 0


def converge(scenario, *extra):
    elapsed, proc = run([str(BIN / 'ansible-playbook'), '-i', inventory(scenario),
                         str(REPO / 'molecule' / scenario / 'converge.yml')] + list(extra))
    harbor = re.search(r'^harbor -+ ([0-9.]+)s$', proc.stdout, re.M)
    return elapsed, float(harbor.group(1)) if harbor else float('nan')


def admin_password(scenario):
    """The templated admin password (ansible-inventory --host does not template vault_* references)."""
    out = subprocess.run([str(BIN / 'ansible'), '-i', inventory(scenario), 'harbor_nodes[0]', '-c', 'local', '-o',
                          '-m', 'ansible.builtin.debug', '-a', 'var=harbor_admin_password'],
                         capture_output=True, text=True, env=env(), check=True).stdout
    return json.loads(out.split('=> ', 1)[1])['harbor_admin_password']


def pull_loop(stop, counts, image):
    while not stop.is_set():
        subprocess.run(['docker', 'exec', 'client', 'docker', 'rmi', image], capture_output=True, check=False)
        ok = subprocess.run(['docker', 'exec', 'client', 'docker', 'pull', image], capture_output=True, check=False).returncode == 0
        counts['ok' if ok else 'failed'] += 1
        time.sleep(0.2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--scenario', default='default')
    parser.add_argument('--fresh', action='store_true', help='destroy and recreate the lab to time a first converge')
    args = parser.parse_args()
    first = None
    if args.fresh or not lab_running():
        run([str(BIN / 'molecule'), 'destroy', '-s', args.scenario], check=False)
        run([str(BIN / 'molecule'), 'create', '-s', args.scenario])
        run([str(BIN / 'molecule'), 'prepare', '-s', args.scenario])
        first = converge(args.scenario)
    noop = converge(args.scenario)

    hostname = 'harbor.lab.test'
    image = '%s/library/bench:1' % hostname
    setup = ("printf bench > /var/tmp/bench && tar -C /var/tmp -c bench | docker import - {img} >/dev/null && "
             'echo "$BENCH_PASSWORD" | docker login -u admin --password-stdin {host} >/dev/null && docker push {img} >/dev/null').format(
                 img=image, host=hostname)
    subprocess.run(['docker', 'exec', '-e', 'BENCH_PASSWORD=' + admin_password(args.scenario), 'client', 'sh', '-c', setup], check=True)
    counts = {'ok': 0, 'failed': 0}
    stop = threading.Event()
    puller = threading.Thread(target=pull_loop, args=(stop, counts, image))
    puller.start()
    level = 'debug' if int(time.time()) % 2 else 'warning'
    try:
        rolling = converge(args.scenario, '-e', 'harbor_log_level=%s' % level)
    finally:
        stop.set()
        puller.join()
    restore = converge(args.scenario)

    print('site.yml on the %s lab (3 Harbor nodes, 2-core machine): whole run / of which the harbor role' % args.scenario)
    if first is not None:
        print('  first converge                                   %7.1f s / %6.1f s' % first)
    print('  no-op re-run (changed=0)                         %7.1f s / %6.1f s' % noop)
    print('  changed setting (prepare, rolling restart)       %7.1f s / %6.1f s' % rolling)
    print('  pulls through the LB during that run: %d ok, %d failed' % (counts['ok'], counts['failed']))
    print('  setting put back (rolling restart again)         %7.1f s / %6.1f s' % restore)


if __name__ == '__main__':
    main()
