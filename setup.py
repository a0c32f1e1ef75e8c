"""Build script: setup.cfg holds the metadata; this adds the cffi modules."""

from setuptools import setup

setup(cffi_modules=["vcd/kernel/_lxc_build.py:ffibuilder",
                     "vcd/vxdb/_whirlpool_build.py:ffibuilder"])
