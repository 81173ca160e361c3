"""Upgrade (playbooks/upgrade.yml, issue 11 item 2), Harbor 2.x lab (molecule scenario default).

The lab's inventory runs 2.14.4, the minor release before 2.15 (database schema 171). This file sorts before
test_scale_out: it upgrades the running cluster of three nodes to 2.15.0, a minor upgrade (core migrates the schema to
180: every node stops, one starts first), then to 2.15.2, a patch upgrade (rolling, pulls through the load balancer must
not fail), and then asks for the way back, which is refused. The installer doubles' cores migrate and refuse schemas as
Harbor's core does (tests/harbor_double/LAYOUT.md). Afterwards the lab runs 2.15.2 while molecule's inventory still
says 2.14.4: test_scale_out passes the release the nodes run, as an operator's inventory would say after the upgrade.
"""

import json
import re
import threading
import time

from lab import recap
from shared_checks import (answers_ping, haproxy_states, manifest_digest, pull_digest, pulls_through_the_lb,
                           push_image, record_figure)

MINOR, PATCH = '2.15.0', '2.15.2'


def running_releases(lab, nodes):
    """The release each node's containers were created from (the proxy's image tag)."""
    return {n: lab.host(n).check_output("docker inspect -f '{{.Config.Image}}' nginx").rsplit(':v', 1)[1] for n in nodes}


def schema(lab):
    """(version, dirty) of Harbor's schema_migrations on the lab's PostgreSQL."""
    name = lab.resolve(lab.nodes[0], ['harbor_database_name'])['harbor_database_name']
    out = lab.host(lab.vars['__groups']['lab_services'][0]).check_output(
        "su postgres -c \"psql -tA -d %s -c 'SELECT version, dirty FROM schema_migrations'\"" % name)
    version, dirty = out.strip().split('|')
    return int(version), dirty == 't'


class Outage(object):
    """Polls Harbor's ping through the load balancer while the body runs; the longest stretch without an answer."""

    def __init__(self, lab):
        self.lab, self.stop, self.longest, self.samples = lab, threading.Event(), 0.0, 0
        self.address = lab.address(lab.vars['__groups']['harbor_lb'][0])
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        down_since = None
        while not self.stop.is_set():
            now, up = time.time(), answers_ping(self.lab, self.address)
            self.samples += 1
            if not up and down_since is None:
                down_since = now
            if up and down_since is not None:
                self.longest, down_since = max(self.longest, now - down_since), None
            time.sleep(0.5)
        if down_since is not None:
            self.longest = max(self.longest, time.time() - down_since)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def test_a_minor_upgrade_migrates_once_then_a_patch_upgrade_rolls_without_a_failed_pull_and_the_way_back_is_refused(lab):
    nodes = lab.nodes
    old = lab.vars['harbor_version']
    assert running_releases(lab, nodes) == {n: old for n in nodes}
    assert schema(lab) == (171, False), 'the lab should start on the 2.14 schema'
    dummy, tag, digest = push_image(lab, 'upgrade')

    # site.yml alone would restart the serving nodes one by one into the new schema: refused in the Harbor play's
    # preflight, nothing changed.
    rc, out = lab.playbook('site', '--tags', 'harbor', '-e', 'harbor_version=' + MINOR)
    assert rc != 0 and 'harbor_version %s is a minor upgrade from the %s the nodes run' % (MINOR, old) in out, out[-3000:]
    assert all(c['changed'] == 0 for c in recap(out).values()), recap(out)

    # Check mode: the whole upgrade runs through and nothing is stopped, drained or migrated.
    rc, out = lab.playbook('upgrade.yml', '--check', '-e', 'harbor_version=' + MINOR)
    assert rc == 0, out[-6000:]
    assert 'Check mode: nothing was backed up, stopped or upgraded' in out, out[-3000:]
    assert running_releases(lab, nodes) == {n: old for n in nodes}
    assert schema(lab) == (171, False)
    assert set(haproxy_states(lab).values()) == {'UP'}, haproxy_states(lab)

    # Minor: backed up, every node out and stopped, one migrates, then the rest.
    start = time.time()
    with Outage(lab) as outage:
        rc, out = lab.playbook('upgrade.yml', '-e', 'harbor_version=' + MINOR)
    seconds = round(time.time() - start)
    assert rc == 0, out[-6000:]
    assert 'Minor upgrade %s -> %s of %s' % (old, MINOR, ', '.join(nodes)) in out, out[-6000:]
    assert running_releases(lab, nodes) == {n: MINOR for n in nodes}
    assert schema(lab) == (180, False)
    migrated = [n for n in nodes if lab.host(n).run("grep -l 'migrat.*171.*180' /var/log/harbor/core.log").rc == 0]
    assert migrated == [nodes[0]], 'the schema must be migrated by the first node alone, found in the logs of %s' % migrated
    backup = re.search(r'backup: (\S+/harbor-%s-\d{8}T\d{6}Z)\.' % re.escape(old), out)
    assert backup, 'upgrade.yml names no backup of %s: %s' % (old, out[-3000:])
    manifest = json.loads(open(backup.group(1) + '/manifest.json', encoding='utf-8').read())
    assert manifest['harbor_version'] == old
    printed = float(re.search(r'Out of service for at most ([0-9.]+) s', out).group(1))
    assert 0 < outage.longest <= printed, (outage.longest, printed)
    assert pull_digest(lab, lab.vars['harbor_hostname'], 'upgrade', tag) == digest

    # Patch: rolling, one node at a time behind the load balancer; not one pull fails.
    start_patch = time.time()
    with pulls_through_the_lb(lab, 'upgrade-pulls') as pulls:
        rc, out = lab.playbook('upgrade.yml', '-e', 'harbor_version=' + PATCH)
    patch_seconds = round(time.time() - start_patch)
    assert rc == 0, out[-6000:]
    assert 'Patch upgrade %s -> %s of %s' % (MINOR, PATCH, ', '.join(nodes)) in out, out[-6000:]
    assert pulls['ok'] > 0 and pulls['failed'] == 0, pulls
    assert running_releases(lab, nodes) == {n: PATCH for n in nodes}
    assert schema(lab) == (180, False)
    # Every node serves what was pushed before both upgrades (asked with the node's own token).
    assert {n: manifest_digest(lab, lab.address(n), 'upgrade', tag) for n in nodes} == {n: digest for n in nodes}

    # The upgraded cluster is converged: the Harbor plays of site.yml with the new release change nothing (the other
    # plays do not read harbor_version's release; molecule's idempotence step runs all of site.yml).
    rc, out = lab.playbook('site', '--tags', 'harbor', '-e', 'harbor_version=' + PATCH)
    assert rc == 0 and all(c['changed'] == 0 for c in recap(out).values()), recap(out) or out[-3000:]

    # The way back is refused before anything changes.
    rc, out = lab.playbook('upgrade.yml', '-e', 'harbor_version=' + MINOR)
    assert rc != 0
    assert 'harbor_version %s is older than the release the nodes run (%s on %s)' % (MINOR, PATCH, ', '.join(sorted(nodes))) in out, out[-3000:]
    assert all(c['changed'] == 0 for c in recap(out).values()), recap(out)

    record_figure(lab, 'upgrade %s -> %s (minor, %d nodes): %d s, registry out of service %.1f s measured from the client '
                  '(upgrade.yml printed at most %.1f s); %s -> %s (patch, rolling): %d s, %d pulls through the LB, %d failed'
                  % (old, MINOR, len(nodes), seconds, outage.longest, printed, MINOR, PATCH, patch_seconds, pulls['ok'],
                     pulls['failed']))
