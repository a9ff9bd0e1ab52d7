"""The pytest side: the plugin's hooks, cells and options, the worker client, the virtual clock, /proc readings.

Imports ``workloads`` only for the registry, the interface, the specs and the wire protocol; never a
model module. The ``test_*.py`` files beside this package drive one workload each.
"""
