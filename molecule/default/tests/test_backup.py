"""Backup and restore (playbooks/backup.yml, playbooks/restore.yml, issue 11 item 4), Harbor 2.x lab (scenario default).

The restore drill: an image is pushed, the cluster is backed up, the database is dropped (Harbor stops serving), the
backup is restored and the image pulls through the load balancer with its original digest. A backup of another Harbor
version and a damaged backup are refused before anything changes. Disruptive: the lab serves again when it ends.
"""

import json
import os
import pathlib
import re
import shutil
import stat
import tarfile
import time

from shared_checks import answers_ping, pull_digest, push_image, record_figure
from lab import recap


def run_backup(lab):
    rc, out = lab.playbook('backup.yml')
    assert rc == 0, out[-5000:]
    assert all(c['failed'] == 0 for c in recap(out).values()), recap(out)
    return pathlib.Path(re.search(r'Backup \S+ written to (\S+) \(', out).group(1))


def test_a_backup_restores_a_dropped_database_and_every_image_pulls_with_its_digest(lab, tmp_path):
    registry = lab.vars['harbor_hostname']
    dummy, tag, digest = push_image(lab, 'backup')
    backup = run_backup(lab)

    # What the backup holds: private files, each as the manifest says, the dump, the key set, every node's
    # configuration, and a CephFS snapshot of the share that holds the registry's blobs.
    manifest = json.loads((backup / 'manifest.json').read_text())
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o700
    assert manifest['harbor_version'] == lab.vars['harbor_version'] and manifest['database']['engine'] == 'postgresql'
    listed = {f['path'] for f in manifest['files']}
    assert listed == {'database.sql', 'keyset.tar.gz'} | {'nodes/%s/last-good.%s' % (n, e) for n in lab.nodes for e in ('tar.gz', 'json')}
    for entry in manifest['files']:
        path = backup / entry['path']
        assert path.stat().st_size == entry['size'] and stat.S_IMODE(path.stat().st_mode) == 0o600, entry
    assert 'CREATE TABLE' in (backup / 'database.sql').read_text()
    with tarfile.open(str(backup / 'keyset.tar.gz')) as archive:
        assert {'token/private_key.pem', 'secrets/secretkey', 'tls/ca.crt'} <= set(archive.getnames())
    snapshot = manifest['registry_snapshot']['path']
    assert snapshot.startswith(lab.vars['harbor_ceph_mount_point'] + '/.snap/')
    node = lab.host(manifest['registry_snapshot']['made_on'])
    storage = lab.vars['harbor_storage_path'].replace(lab.vars['harbor_ceph_mount_point'], snapshot, 1)
    assert node.file(storage + '/docker/registry/v2/blobs/sha256').is_directory, 'the snapshot holds no blobs'

    # Refused before anything changes: a backup of another version, a damaged backup.
    other = tmp_path / 'other-version'
    shutil.copytree(str(backup), str(other))
    (other / 'manifest.json').write_text(json.dumps(dict(manifest, harbor_version='2.14.0')))
    rc, out = lab.playbook('restore.yml', '-e', 'harbor_restore_from=%s' % other)
    assert rc != 0 and 'was made with Harbor 2.14.0' in out and 'Set harbor_version to 2.14.0' in out, out[-3000:]
    assert all(c['changed'] == 0 for c in recap(out).values()), recap(out)
    damaged = tmp_path / 'damaged'
    shutil.copytree(str(backup), str(damaged))
    with open(str(damaged / 'database.sql'), 'a', encoding='utf-8') as handle:
        handle.write('-- changed\n')
    rc, out = lab.playbook('restore.yml', '-e', 'harbor_restore_from=%s' % damaged)
    assert rc != 0 and 'does not match its manifest' in out and 'database.sql' in out, out[-3000:]
    assert answers_ping(lab, lab.address(lab.nodes[0]))

    # The drill: the database is lost, Harbor cannot serve; the restore brings back what the backup holds.
    dropped = lab.host('services').run("su postgres -c \"psql -c 'DROP DATABASE registry WITH (FORCE)'\"")
    assert dropped.rc == 0, dropped.stderr
    assert pull_digest(lab, registry, 'backup', tag).startswith('pull failed'), 'the cluster served without its database'
    start = time.time()
    rc, out = lab.playbook('restore.yml', '-e', 'harbor_restore_from=%s' % backup)
    seconds = round(time.time() - start)
    assert rc == 0, out[-5000:]
    assert pull_digest(lab, registry, 'backup', tag) == digest
    record_figure(lab, 'restore drill (database dropped, playbooks/restore.yml): %d s from the start of the restore until '
                       'the cluster served again; the image pushed before the backup pulled with its digest' % seconds)
