"""Reliability of the 2.x lab without an Ansible run: a power cut of every node, a node that boots without its
share, and an engine restart (molecule scenario default). Each test leaves the lab as it found it. The
one-node reboot is a shared check (tests/lab/verify/shared_checks.py), run in both scenarios."""

import base64
import json
import time

# The one-node reboot is shared with the legacy scenario; imported so that pytest collects it here.
from shared_checks import (  # noqa: F401  pylint: disable=unused-import
    test_a_rebooted_node_starts_harbor_by_itself_and_serves_what_was_pushed_while_it_was_down)
from shared_checks import (
    answers_ping, cluster_green, lab_containers, lb_steps, pull_digest, pulls_through_the_lb, push_image, record_figure,
    seconds_until)
from lab import recap


def harbor_containers(lab, node):
    """{container name: StartedAt} of Harbor's containers on a node."""
    out = lab.host(node).check_output(
        "docker ps -a --filter label=com.docker.compose.project=harbor --format '{{.Names}}' "
        "| xargs docker inspect -f '{{.Name}} {{.State.Running}} {{.State.StartedAt}}'")
    return {name.lstrip('/'): (running == 'true', started) for name, running, started in (l.split() for l in out.splitlines())}


def test_after_a_power_cut_of_every_node_the_registry_answers_through_the_lb_with_the_same_digests(lab):
    """All nodes lose power at once (SIGKILL of every node's init, then power on): the engines restart, each
    node's harbor.service starts Harbor after the share is mounted, and the registry answers through the LB
    within 180 s with what was pushed before."""
    dummy, tag, digest = push_image(lab, 'powercut')
    lab_containers('kill', *lab.nodes)
    lab_containers('start', *lab.nodes)
    lb = lab.vars['harbor_hostname']
    seconds = seconds_until(lambda: answers_ping(lab, lab.address(lab.vars['__groups']['harbor_lb'][0])), 300)
    record_figure(lab, 'power cut of %d nodes: the LB answers %s s after power-on' % (len(lab.nodes), seconds))
    assert seconds is not None and seconds <= 180, 'the registry did not answer through the LB within 180 s (%s)' % seconds
    assert pull_digest(lab, lb, 'powercut', tag) == digest
    assert seconds_until(lambda: cluster_green(lab), 180) is not None, lab.login_matrix()['diagnosis']


CUT_CEPH_UNIT = """[Unit]
Description=lab fault: this node cannot reach the Ceph monitors (test_reboot.py)
DefaultDependencies=no
After=network.target
Before=remote-fs-pre.target network-online.target
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/iptables -I OUTPUT -p tcp -m multiport --dports 3300,6789 -j REJECT
[Install]
WantedBy=multi-user.target
"""


def test_a_node_that_boots_without_its_share_starts_no_harbor_and_the_lb_serves_from_the_others(lab):
    """A node boots but cannot reach the Ceph monitors: the share does not mount, harbor.service does not start
    Harbor, the engine cannot start the registry or the proxy on the bare mount point, nothing is written
    there, the LB keeps the node out and serves from the others. Once the monitors are reachable again,
    starting harbor.service (what the next site.yml does too) brings the node back."""
    node = lab.nodes[-1]
    host = lab.host(node)
    mount_point = lab.vars['harbor_ceph_mount_point']
    dummy, tag, digest = push_image(lab, 'nomount')
    host.check_output('echo %s | base64 -d > /etc/systemd/system/lab-cut-ceph.service && systemctl enable lab-cut-ceph.service',
                      base64.b64encode(CUT_CEPH_UNIT.encode()).decode())
    try:
        lab_containers('restart', node)
        assert seconds_until(lambda: host.run('systemctl is-active docker.service').stdout.strip() == 'active', 120) is not None
        time.sleep(30)  # the engine has had its chance to start containers
        assert not host.run('findmnt --mountpoint %s', mount_point).stdout.strip(), 'the share mounted despite the fault'
        assert host.check_output('ls -A %s', mount_point) == '', 'something was written under the bare mount point'
        running = {name for name, (up, dummy) in harbor_containers(lab, node).items() if up}
        assert not running & {'nginx', 'registry', 'registryctl'}, '%s runs %s without its share' % (node, sorted(running))
        assert host.run('systemctl is-active harbor.service').stdout.strip() != 'active'
        assert not answers_ping(lab, lab.address(node))
        assert pull_digest(lab, lab.vars['harbor_hostname'], 'nomount', tag) == digest
    finally:
        host.run('systemctl disable lab-cut-ceph.service; rm -f /etc/systemd/system/lab-cut-ceph.service; '
                 'iptables -D OUTPUT -p tcp -m multiport --dports 3300,6789 -j REJECT')
        start = time.time()
        host.run('systemctl reset-failed; systemctl start harbor.service')  # mounts the share first, then starts Harbor
    seconds = seconds_until(lambda: answers_ping(lab, lab.address(node)), 180)
    assert seconds is not None, '%s did not come back once its share could mount' % node
    record_figure(lab, 'share back on %s: Harbor serves %d s after systemctl start harbor' % (node, time.time() - start))
    assert seconds_until(lambda: cluster_green(lab), 120) is not None, lab.login_matrix()['diagnosis']


def test_a_daemon_json_change_that_restarts_the_engine_keeps_harbor_running(lab):
    """A daemon.json key SIGHUP cannot apply: the docker play puts the engine restart of Harbor nodes off, the
    rolling restart play restarts each engine with its node drained from HAProxy; live-restore keeps Harbor's
    containers running (same start time) and pulls through the LB do not fail. (Undrained, with live-restore
    alone, pulls did fail: 502s while dockerd's embedded DNS was away.)"""
    engine_started = 'systemctl show --property ActiveEnterTimestampMonotonic --value docker.service'
    before = {n: harbor_containers(lab, n) for n in lab.nodes}
    engines = {n: lab.host(n).check_output(engine_started) for n in lab.nodes}
    current = json.loads(lab.host(lab.nodes[0]).file('/etc/docker/daemon.json').content_string).get('log-level')
    level = 'info' if current == 'warn' else 'warn'  # a key SIGHUP cannot apply: the role restarts dockerd
    with pulls_through_the_lb(lab, 'liverestore') as pulls:
        rc, out = lab.playbook('site', '--tags', 'docker', '--limit', 'harbor_nodes',
                               '-e', json.dumps({'docker_engine_daemon_options': {'log-level': level}}))
    assert rc == 0, out[-3000:]
    assert all(c['changed'] > 0 for c in recap(out).values()), recap(out)
    assert all(lab.host(n).check_output(engine_started) != engines[n] for n in lab.nodes), 'dockerd did not restart'
    # Each engine restarted in the rolling restart play, its node drained from HAProxy before and enabled after.
    steps = lb_steps(out)
    assert steps == [n for pair in zip(lab.nodes, lab.nodes) for n in pair], steps
    after = {n: harbor_containers(lab, n) for n in lab.nodes}
    assert after == before, 'Harbor containers restarted with the engine'
    record_figure(lab, 'engine restart on every node (live-restore): %d pulls through the LB, %d failed' % (pulls['ok'] + pulls['failed'], pulls['failed']))
    assert pulls['ok'] > 0 and pulls['failed'] == 0, pulls
