"""Scale-out (playbooks/scale_out.yml, issue 11 item 1), Harbor 2.x lab (molecule scenario default).

harbor4 is created with the lab but belongs to no group the collection reads (lab_spare_nodes). The test adds it to
harbor_nodes the way an operator does, with a second inventory source, and runs the one documented command. It sorts
after test_rolling_upgrade: the cluster it grows runs the release that test upgraded to, which the operator's
inventory names then (harbor_version, given here as an extra var: molecule's inventory still says the release the lab
started on). Afterwards the lab has four nodes behind its load balancer and molecule's own inventory still names three.
"""

import json
import re
import time

from shared_checks import manifest_digest, pulls_through_the_lb, push_image, record_figure

NEW = 'harbor4'
# The containers whose start times tell whether a node restarted.
CONTAINERS = 'harbor-core harbor-portal harbor-jobservice registry registryctl nginx'


def started(lab, node):
    return lab.host(node).check_output("docker inspect -f '{{.Name}} {{.State.StartedAt}}' %s" % CONTAINERS)


def test_a_new_node_joins_with_the_key_set_while_no_serving_node_restarts_and_pulls_keep_working(lab, tmp_path):
    extra = tmp_path / 'scale-out.yml'
    extra.write_text(json.dumps({'harbor_nodes': {'hosts': {NEW: {}}}}))
    dummy, tag, digest = push_image(lab, 'scaleout')
    before = {node: started(lab, node) for node in lab.nodes}
    running = {lab.host(n).check_output("docker inspect -f '{{.Config.Image}}' nginx").rsplit(':v', 1)[1] for n in lab.nodes}
    assert len(running) == 1, running
    start = time.time()
    with pulls_through_the_lb(lab, 'scaleout-pulls') as pulls:
        rc, out = lab.playbook('scale_out.yml', '-i', str(extra), '-e', 'harbor_version=' + running.pop())
    seconds = round(time.time() - start)
    assert rc == 0, out[-5000:]
    assert 'New: %s. Serving: %s.' % (NEW, ', '.join(lab.nodes)) in out, out[-5000:]
    assert 'Serving nodes restarted: none. New nodes: %s.' % NEW in out, out[-3000:]
    assert {node: started(lab, node) for node in lab.nodes} == before, 'a serving node restarted'
    assert pulls['ok'] > 0 and pulls['failed'] == 0, pulls
    # The new node holds the cluster's key set: every pair of the 4 x 4 matrix logs in, the LB has 4 backends, and the
    # new node serves what was pushed before it existed.
    nodes = lab.nodes + [NEW]
    address = lab.vars['__hostvars'][NEW]['harbor_node_address']
    scheme = 'https' if lab.vars['harbor_tls_mode'] != 'none' else 'http'
    matrix = lab.login_matrix(nodes=[{'name': n, 'url': '%s://%s' % (scheme, lab.vars['__hostvars'][n]['harbor_node_address'])}
                                     for n in nodes])
    assert len(matrix['matrix']) == 16 and not matrix['failed_pairs'], matrix['failed_pairs']
    assert manifest_digest(lab, address, 'scaleout', tag) == digest
    lb_config = lab.host(lab.vars['__groups']['harbor_lb'][0]).file('/etc/haproxy/haproxy.cfg').content_string
    assert re.search(r'^\s*server %s %s:' % (NEW, re.escape(address)), lb_config, re.M), lb_config
    record_figure(lab, 'scale-out from %d to %d nodes (playbooks/scale_out.yml): %d s, pulls through the LB meanwhile: '
                       '%d ok, %d failed' % (len(lab.nodes), len(nodes), seconds, pulls['ok'], pulls['failed']))
