"""The collection as AWX job templates run it (issue 12, docs/awx.md): the EE image built by hack/ee-image.sh from the
collection tarball, jobs run by ansible-runner with --process-isolation in that image, each in a fresh private data
directory with the inventory and credentials AWX would hand it, over SSH to the lab's hosts, the key set in its home
outside the job container (tests/lab/verify/awx_job.py). AWX itself is not run here.
"""

import hashlib
import pathlib
import shutil
import subprocess

import pytest

from awx_job import EE_IMAGE, REPO, AwxJobs
from shared_checks import record_figure

ALREADY_RUNS = 'already runs Harbor with a secretkey'


@pytest.fixture(scope='module')
def jobs(lab):
    if subprocess.run(['docker', 'image', 'inspect', EE_IMAGE], capture_output=True, check=False).returncode:
        pytest.fail('no EE image %s: run hack/ee-image.sh (hack/molecule.sh does)' % EE_IMAGE)
    root = REPO / 'build' / 'lab' / ('awx-jobs-' + lab.scenario)
    shutil.rmtree(str(root), ignore_errors=True)
    root.mkdir(parents=True)
    return AwxJobs(lab, root, lab.resolve(lab.nodes[0], ['lab_network_name'])['lab_network_name'])


def keyset_digest(directory):
    """{relative path: sha256} of every file of a key set directory."""
    base = pathlib.Path(directory)
    return {str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(base.rglob('*')) if p.is_file()}


def test_the_ee_image_holds_this_collection_and_its_dependencies():
    proc = subprocess.run(['docker', 'run', '--rm', EE_IMAGE, 'ansible-galaxy', 'collection', 'list'],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    listed = {line.split()[0]: line.split()[1] for line in proc.stdout.splitlines()
              if len(line.split()) == 2 and '.' in line.split()[0] and not line.startswith('#')}
    assert listed.get('registryops.harbor_ha') == '0.1.0', proc.stdout[-2000:]
    for dependency in ('community.docker', 'community.crypto', 'community.mysql', 'community.postgresql',
                       'community.general', 'ansible.posix'):
        assert dependency in listed, dependency


def test_site_and_verify_as_awx_jobs_change_nothing_on_the_converged_lab_keep_the_key_set_and_print_no_secret(lab, jobs):
    """The lab was converged from the command line (molecule converge and idempotence): site.yml as an AWX job, from a
    fresh private data directory with the key set in its home, finds nothing to change on any host, and verify.yml
    passes. (The job ran twice until 0.8.0; the first run already changed nothing, so the second proved nothing more.)"""
    keyset_dir = lab.vars['harbor_keyset_dir']
    before = keyset_digest(keyset_dir)
    assert 'secrets/secretkey' in before, sorted(before)
    runs = [('site', jobs.run('playbooks/site.yml', keyset_dir)),
            ('verify', jobs.run('playbooks/verify.yml', keyset_dir))]
    record_figure(lab, '%s AWX-style jobs (ansible-runner, process isolation, %s): %s' % (
        lab.scenario, EE_IMAGE, ', '.join('%s %.0f s' % (name, job.seconds) for name, job in runs)))
    for name, job in runs:
        assert job.status == 'successful' and job.rc == 0, '%s: %s' % (name, job.describe())
    stats = runs[0][1].stats()
    assert stats.get('ok') and not any(stats.get('changed', {}).values()), stats.get('changed')
    assert set(stats['ok']) >= set(lab.nodes) | set(lab.clients), sorted(stats['ok'])
    assert keyset_digest(keyset_dir) == before, 'the key set changed'
    for name, job in runs:
        assert job.events(), '%s left no job events' % name
        assert job.files_containing(jobs.secret_values()) == [], name


def test_an_awx_job_with_an_empty_key_set_home_stops_in_preflight_and_makes_no_key_set(lab, jobs, tmp_path):
    """The key set home lost (an empty volume): the lost-key-set guard stops every node before anything changes."""
    empty = tmp_path / 'keyset-home'
    empty.mkdir()
    job = jobs.run('playbooks/site.yml', str(empty))
    record_figure(lab, '%s AWX-style job with an empty key set home: stopped in %.0f s' % (lab.scenario, job.seconds))
    assert job.status == 'failed', job.describe()
    assert ALREADY_RUNS in job.stdout and 'harbor_keyset_dir' in job.stdout, job.describe()
    stats = job.stats()
    assert not any(stats.get('changed', {}).values()), stats.get('changed')
    assert list(empty.iterdir()) == [], 'a key set was generated: %s' % sorted(p.name for p in empty.iterdir())
    assert job.files_containing(jobs.secret_values()) == []
