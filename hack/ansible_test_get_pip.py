"""Offline stand-in for the pip bootstrap script ansible-test downloads from a host we cannot reach.

ansible-test runs this file (as GET_PIP) inside each empty sanity virtualenv with pip's install
arguments. We bootstrap pip from the interpreter's own ensurepip, then let that pip install the
exact versions ansible-test asked for from PyPI.
"""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)
