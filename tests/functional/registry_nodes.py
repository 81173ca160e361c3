# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real registry nodes on loopback for the login_matrix tests and benchmark.

Each node is three real processes, the way a Harbor node is put together:
  * distribution (Debian's ``docker-registry``) checking tokens itself (``auth.token`` + rootcertbundle),
  * the lab's Harbor core DOUBLE (tests/harbor_double/core) issuing RS256 tokens with the node's key,
  * nginx in front, routing /v2/ to the registry and the rest to the core (plain HTTP or TLS).
Nothing is mocked: a node given another key really refuses the others' tokens.
"""

import datetime
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
CORE = os.path.join(HERE, '..', 'harbor_double', 'core', 'harbor_core_double.py')
REGISTRY_BIN = shutil.which('docker-registry') or '/usr/bin/docker-registry'
NGINX_BIN = shutil.which('nginx') or '/usr/sbin/nginx'
SERVICE = 'harbor-registry'


_HANDED_OUT = set()


def free_port():
    """A loopback port nobody listens on and that this process has not handed out before.

    The kernel may give the same ephemeral port to two bind(0) calls in a row once the first socket is
    closed; two services of one node on one port made a node look healthy on the wrong process (seen in CI).
    """
    for dummy in range(100):
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            port = sock.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError('no unused loopback port found')


def wait_port(port, timeout=15.0, proc=None, what='service'):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError('%s exited with %s' % (what, proc.returncode))
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=0.5):
                pass
        except OSError:
            time.sleep(0.05)
            continue
        # Something answers; make sure it is still our process (it may have failed to bind and be exiting).
        time.sleep(0.2)
        if proc is not None and proc.poll() is not None:
            raise RuntimeError('%s exited with %s (is port %s taken?)' % (what, proc.returncode, port))
        return
    raise RuntimeError('%s did not listen on 127.0.0.1:%s within %ss' % (what, port, timeout))


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


class TokenKeyPair(object):
    """A token signing pair as Harbor makes it: RSA 4096, PKCS#1 PEM, self-signed certificate."""

    def __init__(self, directory, bits=4096):
        os.makedirs(directory, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(_name('harbor-token-ca')).issuer_name(_name('harbor-token-ca'))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
                .sign(key, hashes.SHA256()))
        self.key_path = os.path.join(directory, 'private_key.pem')
        self.cert_path = os.path.join(directory, 'root.crt')
        with open(self.key_path, 'wb') as handle:
            handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
        os.chmod(self.key_path, 0o600)
        with open(self.cert_path, 'wb') as handle:
            handle.write(cert.public_bytes(serialization.Encoding.PEM))


class TLSMaterial(object):
    """A CA made by the test and a server certificate for the given DNS names (no IP SANs on purpose)."""

    def __init__(self, directory, dns_names):
        os.makedirs(directory, exist_ok=True)
        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ca_cert = (x509.CertificateBuilder().subject_name(_name('lab test CA')).issuer_name(_name('lab test CA'))
                   .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(ca_key, hashes.SHA256()))
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = (x509.CertificateBuilder().subject_name(_name(dns_names[0])).issuer_name(ca_cert.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        self.ca_path = os.path.join(directory, 'ca.crt')
        self.cert_path = os.path.join(directory, 'server.crt')
        self.key_path = os.path.join(directory, 'server.key')
        for path, data in ((self.ca_path, ca_cert.public_bytes(serialization.Encoding.PEM)),
                           (self.cert_path, cert.public_bytes(serialization.Encoding.PEM)),
                           (self.key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                                             serialization.NoEncryption()))):
            with open(path, 'wb') as handle:
                handle.write(data)


class _Proc(object):
    def __init__(self, argv, log_path, env=None):
        self.log_path = log_path
        self.log = open(log_path, 'ab')
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


class RegistryNode(object):
    """One Harbor-like node: registry + core double + nginx, on loopback ports."""

    def __init__(self, name, workdir, keypair, admin_password, tls=None, server_name=None, http_secret='shared-http-secret',
                 storage=None, realm_host='harbor.test'):
        self.name = name
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.keypair = keypair
        self.admin_password = admin_password
        self.tls = tls
        self.server_name = server_name
        self.http_secret = http_secret
        self.storage = storage or os.path.join(self.dir, 'storage')
        self.realm_host = realm_host
        self.registry_port = free_port()
        self.core_port = free_port()
        self.port = free_port()
        self.procs = {}

    @property
    def url(self):
        return '%s://127.0.0.1:%d' % ('https' if self.tls else 'http', self.port)

    def _registry_config(self):
        path = os.path.join(self.dir, 'registry.yml')
        scheme = 'https' if self.tls else 'http'
        with open(path, 'w') as handle:
            handle.write('''version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: 127.0.0.1:%d
  secret: %s
auth:
  token:
    realm: %s://%s/service/token
    service: %s
    issuer: harbor-token-issuer
    rootcertbundle: %s
''' % (self.storage, self.registry_port, self.http_secret, scheme, self.realm_host, SERVICE, self.keypair.cert_path))
        return path

    def _nginx_config(self):
        temp = os.path.join(self.dir, 'nginx-temp')
        os.makedirs(temp, exist_ok=True)
        listen = '127.0.0.1:%d%s' % (self.port, ' ssl' if self.tls else '')
        tls = ''
        if self.tls:
            tls = 'ssl_certificate %s;\n    ssl_certificate_key %s;' % (self.tls.cert_path, self.tls.key_path)
        # With server_name set, requests for another Host get 421 (proves the Host header is sent).
        guard = ''
        if self.server_name:
            guard = 'server { listen %s default_server; %s return 421; }' % (listen, tls)
        path = os.path.join(self.dir, 'nginx.conf')
        with open(path, 'w') as handle:
            handle.write('''%(user)s
worker_processes 1;
daemon off;
pid %(dir)s/nginx.pid;
error_log %(dir)s/nginx-error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path %(temp)s/body;
  proxy_temp_path %(temp)s/proxy;
  fastcgi_temp_path %(temp)s/fastcgi;
  uwsgi_temp_path %(temp)s/uwsgi;
  scgi_temp_path %(temp)s/scgi;
  %(guard)s
  server {
    listen %(listen)s;
    server_name %(server_name)s;
    %(tls)s
    client_max_body_size 0;
    location /v2/ {
      proxy_pass http://127.0.0.1:%(registry)d;
      proxy_set_header Host $http_host;
      proxy_buffering off;
      proxy_request_buffering off;
    }
    location / {
      proxy_pass http://127.0.0.1:%(core)d;
      proxy_set_header Host $http_host;
    }
  }
}
''' % dict(user='user root;' if os.geteuid() == 0 else '', dir=self.dir, temp=temp, listen=listen, guard=guard,
                server_name=self.server_name or '_', tls=tls, registry=self.registry_port, core=self.core_port))
        return path

    def start(self):
        env = dict(os.environ, HARBOR_DOUBLE_STANDALONE='1', HARBOR_ADMIN_PASSWORD=self.admin_password,
                   REGISTRY_URL='http://127.0.0.1:%d' % self.registry_port, EXT_ENDPOINT='http://%s' % self.realm_host)
        self.procs['registry'] = _Proc([REGISTRY_BIN, 'serve', self._registry_config()], os.path.join(self.dir, 'registry.log'))
        self.procs['core'] = _Proc([sys.executable, CORE, '--generation', 'v2', '--listen', '127.0.0.1:%d' % self.core_port,
                                    '--private-key', self.keypair.key_path], os.path.join(self.dir, 'core.log'), env=env)
        self.procs['nginx'] = _Proc([NGINX_BIN, '-c', self._nginx_config()], os.path.join(self.dir, 'nginx.log'))
        wait_port(self.registry_port, proc=self.procs['registry'].proc, what='%s registry' % self.name)
        wait_port(self.core_port, proc=self.procs['core'].proc, what='%s core double' % self.name)
        wait_port(self.port, proc=self.procs['nginx'].proc, what='%s nginx' % self.name)
        return self

    def stop(self, component=None):
        for name in ([component] if component else ['nginx', 'core', 'registry']):
            proc = self.procs.pop(name, None)
            if proc:
                proc.stop()


class LoadBalancer(object):
    """nginx round-robin over the nodes (the lab uses HAProxy; here any real LB shows the cross-node effect)."""

    def __init__(self, workdir, nodes):
        self.dir = os.path.join(workdir, 'lb')
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.nodes = nodes
        self.proc = None

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.port

    def start(self):
        servers = '\n'.join('    server 127.0.0.1:%d;' % n.port for n in self.nodes)
        temp = os.path.join(self.dir, 'temp')
        os.makedirs(temp, exist_ok=True)
        path = os.path.join(self.dir, 'nginx.conf')
        with open(path, 'w') as handle:
            handle.write('''%s
worker_processes 1;
daemon off;
pid %s/nginx.pid;
error_log %s/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path %s/body; proxy_temp_path %s/proxy; fastcgi_temp_path %s/f; uwsgi_temp_path %s/u; scgi_temp_path %s/s;
  upstream harbor {
%s
  }
  server {
    listen 127.0.0.1:%d;
    location / { proxy_pass http://harbor; proxy_set_header Host $http_host; }
  }
}
''' % ('user root;' if os.geteuid() == 0 else '', self.dir, self.dir, temp, temp, temp, temp, temp, servers, self.port))
        self.proc = _Proc([NGINX_BIN, '-c', path], os.path.join(self.dir, 'nginx.log'))
        wait_port(self.port, proc=self.proc.proc, what='load balancer')
        return self

    def stop(self):
        if self.proc:
            self.proc.stop()
            self.proc = None


class Lab(object):
    """A set of nodes sharing (or not) a key pair, with cleanup."""

    def __init__(self, workdir=None):
        self.workdir = workdir or tempfile.mkdtemp(prefix='login-matrix-')
        self.nodes = []
        self.others = []

    def add_node(self, name, keypair, admin_password, **kwargs):
        node = RegistryNode(name, self.workdir, keypair, admin_password, **kwargs)
        self.nodes.append(node)
        return node

    def start(self):
        for node in self.nodes:
            node.start()
        return self

    def load_balancer(self, nodes=None):
        lb = LoadBalancer(self.workdir, nodes or self.nodes).start()
        self.others.append(lb)
        return lb

    def close(self):
        for item in self.others:
            item.stop()
        for node in self.nodes:
            node.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
