"""Stands in for ansible-test's pip bootstrap script (get-pip.py), which it
downloads from ci-files.testing.ansible.com: that host is out of reach here,
PyPI is not. Installs pip with the standard library's ensurepip, then runs
pip install with the arguments ansible-test passed (the pinned pip version
and friends), from PyPI."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '-q'] + args)
