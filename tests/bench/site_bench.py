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
import os
import pathlib
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
    proc = subprocess.run(cmd, cwd=str(REPO), env=env(), capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise SystemExit('%s failed:\n%s%s' % (' '.join(cmd), proc.stdout[-4000:], proc.stderr[-2000:]))
    return time.time() - started, proc


def inventory(scenario):
    paths = sorted(glob.glob(os.path.expanduser('~/.ansible/tmp/molecule.*.%s/inventory' % scenario)), key=os.path.getmtime)
    return paths[-1] if paths else None


def lab_running():
    return subprocess.run(['docker', 'inspect', 'harbor1'], capture_output=True, check=False).returncode == 0


def converge(scenario, *extra):
    return run([str(BIN / 'ansible-playbook'), '-i', inventory(scenario),
                str(REPO / 'molecule' / scenario / 'converge.yml')] + list(extra))


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
        first = converge(args.scenario)[0]
    noop = converge(args.scenario)[0]

    hostname = 'harbor.lab.test'
    image = '%s/library/bench:1' % hostname
    password = subprocess.run([str(BIN / 'ansible-inventory'), '-i', inventory(args.scenario), '--host', 'harbor1'],
                              capture_output=True, text=True, env=env(), check=True).stdout
    import json
    password = json.loads(password)['harbor_admin_password']
    setup = ("printf bench > /var/tmp/bench && tar -C /var/tmp -c bench | docker import - {img} >/dev/null && "
             "echo {pw} | docker login -u admin --password-stdin {host} >/dev/null && docker push {img} >/dev/null").format(
                 img=image, pw=password, host=hostname)
    subprocess.run(['docker', 'exec', 'client', 'sh', '-c', setup], check=True)
    counts = {'ok': 0, 'failed': 0}
    stop = threading.Event()
    puller = threading.Thread(target=pull_loop, args=(stop, counts, image))
    puller.start()
    level = 'debug' if int(time.time()) % 2 else 'warning'
    try:
        rolling = converge(args.scenario, '-e', 'harbor_log_level=%s' % level)[0]
    finally:
        stop.set()
        puller.join()
    restore = converge(args.scenario)[0]

    print('site.yml on the %s lab (3 Harbor nodes, 2-core machine):' % args.scenario)
    if first is not None:
        print('  first converge            %7.1f s' % first)
    print('  no-op re-run              %7.1f s%s' % (noop, '   (first / no-op = %.1f)' % (first / noop) if first else ''))
    print('  rolling re-run (prepare + restart of every node, serial 1)  %7.1f s' % rolling)
    print('  pulls through the LB during the rolling re-run: %d ok, %d failed' % (counts['ok'], counts['failed']))
    print('  re-run restoring the setting %7.1f s' % restore)


if __name__ == '__main__':
    main()
