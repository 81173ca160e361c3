"""A change that makes a node unhealthy is rolled back (issue 10 item 3), Harbor 2.x lab (molecule scenario default).

Disruptive: it restores the lab before it finishes (a normal site.yml run puts the inventory's configuration back).
"""

import json
import time
import uuid

from shared_checks import assert_matrix_ok, changed_tasks, haproxy_states, lb_steps, record_figure, sha256_on
from lab import recap

# The containers whose start times tell whether a node restarted.
CONTAINERS = 'harbor-core harbor-portal harbor-jobservice registry registryctl nginx'


def started(lab, node):
    return lab.host(node).check_output("docker inspect -f '{{.Name}} {{.State.StartedAt}}' %s" % CONTAINERS)


def test_a_change_that_makes_a_node_unhealthy_rolls_that_node_back_while_pulls_keep_working(lab):
    """The first node restarted with a bad value is put back on its previous configuration, serves again, and the
    play fails naming the node and quoting core's error line; no other node restarts.

    The bad value: `harbor_database_sslmode: verify-full` against a PostgreSQL whose TLS certificate Harbor has no
    CA for (the lab's server offers TLS with Debian's self-signed snakeoil certificate). Preflight cannot see it:
    its login from every node uses TLS for every sslmode but `disable` and does not verify the server's
    certificate (preflight_database_sslmode). It reaches core through harbor.yml (external_database ssl_mode), so
    prepare runs again in the node's restart, while it is drained; core then cannot verify the server and never
    connects (Harbor 2.x: x509 unknown authority; the core double: libpq's missing root certificate), so the node
    never reports healthy. harbor_health_timeout is 60 s here (default 300) so that the test waits one minute for
    the verdict. A client pulls through the load balancer during the bad run and the repairing run; none of its
    pulls fail."""
    first, others = lab.nodes[0], lab.nodes[1:]
    name = lab.vars['harbor_hostname']
    client = lab.host(lab.clients[0])
    record = [lab.installer_dir() + '/harbor.yml', lab.installer_dir() + '/common/config/core/env',
              lab.installer_dir() + '/.harbor_ha_prepare_stamp']
    marker = (lab.vars['harbor_install_dir'] or '/opt/harbor') + '/restart-pending'

    tag = uuid.uuid4().hex[:8]
    image = '%s/library/rollback:%s' % (name, tag)
    client.check_output("printf %%s %s > /var/tmp/payload && tar -C /var/tmp -c payload | docker import - %s", tag, image)
    assert client.run('echo %s | docker login -u admin --password-stdin %s', lab.vars['harbor_admin_password'], name).rc == 0
    assert client.run('docker push %s', image).rc == 0
    before = {n: [sha256_on(lab, n, path) for path in record] for n in lab.nodes}
    starts = {n: started(lab, n) for n in lab.nodes}
    loop = ('rm -f /var/tmp/pulls /var/tmp/pulls.stop; while [ ! -e /var/tmp/pulls.stop ]; do docker rmi -f %s >/dev/null 2>&1; '
            'if docker pull %s >/dev/null 2>&1; then echo ok; else echo failed; fi >> /var/tmp/pulls; done' % (image, image))
    client.check_output('nohup sh -c %s >/dev/null 2>&1 &', loop)
    t0 = time.time()
    try:
        bad = json.dumps({'harbor_database_sslmode': 'verify-full', 'harbor_health_timeout': 60})
        rc, out = lab.playbook('site', '--tags', 'harbor', '-e', bad)
        bad_seconds = time.time() - t0
        rolled_back = {n: started(lab, n) for n in lab.nodes}
        # Right after its enable a server shows 'UP 1/2' until its next check passes (inter 1 s).
        deadline = time.time() + 15
        while set(haproxy_states(lab).values()) != {'UP'} and time.time() < deadline:
            time.sleep(1)
        states_after_rollback = haproxy_states(lab)
        hashes_after_rollback = {n: [sha256_on(lab, n, path) for path in record] for n in lab.nodes}
        markers_after_rollback = {n: lab.host(n).file(marker).exists for n in lab.nodes}
        rc_repair, out_repair = lab.playbook('site', '--tags', 'harbor')
    finally:
        client.run('touch /var/tmp/pulls.stop')
    time.sleep(3)

    # The play failed on the first node, with the node's own words, and went no further.
    assert rc != 0, out[-3000:]
    failure = [line for line in out.splitlines()
               if line.startswith('fatal: ') and 'was rolled back to its previous configuration and serves again' in line]
    assert len(failure) == 1 and failure[0].startswith('fatal: [%s]' % first), out[-5000:]
    assert 'core [' in failure[0] and 'certificate' in failure[0], failure[0]
    assert lab.vars['harbor_admin_password'] not in out
    assert lb_steps(out) == [first, first], lb_steps(out)  # drained, then enabled again after the rollback
    assert recap(out)[first]['failed'] == 1 and all(recap(out)[n]['failed'] == 0 for n in others), recap(out)
    # Only the first node restarted; it serves its previous configuration again (prepare's output included), back in
    # the load balancer.
    assert all(rolled_back[n] == starts[n] for n in others), 'a node other than %s was restarted' % first
    assert rolled_back[first] != starts[first]
    assert hashes_after_rollback[first] == before[first], 'the first node does not hold its previous configuration'
    assert all(hashes_after_rollback[n][0] != before[n][0] for n in others), 'the bad value was not rendered on the other nodes'
    assert markers_after_rollback == dict({first: False}, **{n: True for n in others}), markers_after_rollback
    assert set(states_after_rollback.values()) == {'UP'}, states_after_rollback

    # A normal run puts the inventory's configuration back: the first node has nothing to change, the others
    # restart once, one at a time (their prepare had been put off, so it does not run again).
    assert rc_repair == 0, out_repair[-3000:]
    counts = recap(out_repair)
    assert all(counts[n]['changed'] > 0 for n in others), counts
    # Nothing of the first node's Harbor configuration changes; only its boot unit, whose start timeout follows
    # harbor_health_timeout (60 s in the bad run), goes back.
    assert all('systemd unit' in task for task in changed_tasks(out_repair, first)), changed_tasks(out_repair, first)
    assert lb_steps(out_repair) == [n for n in others for dummy in (0, 1)], lb_steps(out_repair)
    repaired = {n: started(lab, n) for n in lab.nodes}
    assert repaired[first] == rolled_back[first] and all(repaired[n] != starts[n] for n in others), repaired
    assert {n: [sha256_on(lab, n, path) for path in record] for n in lab.nodes} == before
    assert not any(lab.host(n).file(marker).exists for n in lab.nodes)
    assert set(haproxy_states(lab).values()) == {'UP'}, haproxy_states(lab)
    pulls = client.check_output('cat /var/tmp/pulls').split()
    figures = ('rollback (2.x, bad run %d s + repairing run): %d pulls through the LB, %d failed'
               % (bad_seconds, len(pulls), pulls.count('failed')))
    record_figure(lab, figures)
    assert pulls and pulls.count('failed') == 0, figures
    client.run('docker rmi %s', image)
    assert_matrix_ok(lab)
