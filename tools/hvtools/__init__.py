"""hvtools: the host side of the hypervisor in one package (see tools/README.md).

Modules:
  console  the serial console client (Console: TCP or mux, wait_for, command)
  mux      SerialMux: one serial connection shared by several clients
  bochs    start Bochs headless (launch, BochsInstance)
  qemu     start QEMU + OVMF (start_qemu, QemuInstance) and the nested-KVM checks
  relay    the UDP link between two emulated e1000s (Relay: capture, tamper)
  lines    parsers: key=value, heartbeats, MIGSTAT, timestamped line logs
  ports    free TCP/UDP ports
  proc     process groups and log tails
  ctl      what tools/hvctl does (follow a migration, PSK entry)
  cutover  the cutover analysis behind tools/cutover.py
  cli      the commands' argument parser from their docstring

The commands in tools/ (hvctl, launch-*, demo.py, cutover.py, ...) are thin
scripts over these modules; tools/ is on their sys.path as the scripts'
directory, so `import hvtools` needs no set-up there. The system tests'
harness, tests/system/systest.py, puts tools/ on sys.path for the tests.
"""
