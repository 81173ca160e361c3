"""Run INSIDE the load balancer test container: stop one test backend and measure how long HAProxy takes
to mark it DOWN, while a client keeps sending requests through the frontend; then start it again.
Prints one JSON document. Bounded: at most ~20 s, 127.0.0.1 only."""
import json
import socket
import subprocess
import time
import urllib.request

SOCK = '/run/haproxy/admin.sock'
FRONTEND = 'http://127.0.0.1:8080/api/v2.0/ping'


def status(server):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(SOCK)
    s.sendall(b'show stat\n')
    data = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    lines = data.decode().splitlines()
    header = lines[0].lstrip('# ').split(',')
    for line in lines[1:]:
        row = dict(zip(header, line.split(',')))
        if row.get('pxname') == 'harbor_nodes' and row.get('svname') == server:
            return row['status']
    return None


def request():
    req = urllib.request.Request(FRONTEND, headers={'Host': 'harbor.lab.test'})
    try:
        with urllib.request.urlopen(req, timeout=2) as resp:
            return resp.read().decode().strip()
    except Exception as exc:  # noqa: BLE001 - any failure counts
        return 'ERROR %s' % exc


def wait_for(server, wanted, limit):
    start = time.monotonic()
    answers = []
    while time.monotonic() - start < limit:
        answers.append(request())
        if status(server) == wanted:
            return round(time.monotonic() - start, 2), answers
        time.sleep(0.05)
    return None, answers


result = {'before': {'be1': status('be1'), 'be2': status('be2')}}
result['round_robin'] = sorted(set(request() for dummy in range(6)))
subprocess.run(['systemctl', 'stop', 'rtest-backend@8081.service'], check=True)
elapsed, answers = wait_for('be1', 'DOWN', 10)
result['be1_down_after_s'] = elapsed
result['requests_while_going_down'] = len(answers)
result['failed_requests_while_going_down'] = [a for a in answers if a.startswith('ERROR')]
result['after_down'] = sorted(set(request() for dummy in range(6)))
subprocess.run(['systemctl', 'start', 'rtest-backend@8081.service'], check=True)
elapsed = wait_for('be1', 'UP', 10)[0]
result['be1_up_again_after_s'] = elapsed
result['after_up'] = sorted(set(request() for dummy in range(6)))
print(json.dumps(result, indent=2))
