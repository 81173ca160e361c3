"""Storage checks shared by every lab scenario (pytest collects them where they are imported)."""

import uuid


def test_fstab_has_the_cephfs_line_and_the_share_is_really_mounted(lab):
    mount_point = lab.vars['harbor_ceph_mount_point']
    for node in lab.nodes:
        host = lab.host(node)
        lines = [l.split() for l in host.file('/etc/fstab').content_string.splitlines() if l.strip() and not l.startswith('#')]
        entry = [l for l in lines if len(l) >= 3 and l[1] == mount_point]
        assert len(entry) == 1, '%s: expected one fstab line for %s, got %s' % (node, mount_point, entry)
        assert entry[0][2] in ('fuse.ceph', 'ceph'), entry
        fstype = host.check_output('findmnt --noheadings --output FSTYPE --mountpoint %s', mount_point)
        assert fstype in ('fuse.ceph-fuse', 'ceph'), '%s: %s is %r, not CephFS' % (node, mount_point, fstype)


def test_a_file_written_on_the_first_node_is_read_on_the_last(lab):
    first, last = lab.nodes[0], lab.nodes[-1]
    name = '%s/.verify-%s' % (lab.vars['harbor_ceph_mount_point'], uuid.uuid4().hex)
    payload = uuid.uuid4().hex
    lab.host(first).check_output('echo %s > %s', payload, name)
    try:
        assert lab.host(last).file(name).content_string.strip() == payload
    finally:
        lab.host(first).run('rm -f %s', name)
