"""QEMU + OVMF: the UEFI boot path, under TCG (tools/launch-qemu-ovmf) or KVM with
nested VT-x (tools/launch-nested-kvm, docs/nested-kvm.md).

    proc = start_qemu(esp, workdir, serial_port=port, timeout=120)
    ...
    stop_qemu(proc)

QEMU always runs inside `timeout`, because a guest that never exits (OVMF sitting in
its boot menu, a hung hypervisor) would otherwise keep QEMU alive forever; and in its
own process group. QemuInstance wraps the Popen with the interface of
hvtools.bochs.BochsInstance that the demo and the system tests use.
host_problems() / tool_problems() say why nested VT-x under KVM cannot run here.
"""
import os
import shutil
import subprocess
import tempfile

from .proc import stop_group, tail_file

QEMU = "qemu-system-x86_64"
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
DEBUG_EXIT_PORT = 0xF4


def debug_exit_status(value):
    """QEMU's exit status when the guest writes VALUE to isa-debug-exit."""
    return ((value << 1) | 1) & 0xFF


def prepare_vars(workdir):
    """A private, writable copy of the OVMF variable store (OVMF writes to it)."""
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "OVMF_VARS_4M.fd")
    shutil.copyfile(OVMF_VARS, path)
    return path


def build_command(
    esp,
    vars_path,
    memory=256,
    serial_port=None,
    serial_file=None,
    timeout=None,
    no_reboot=True,
    extra_args=(),
    accel="tcg",
    cpu=None,
):
    """The argument list: `timeout` + QEMU, with COM1 on TCP or in a file.
    accel/cpu are for tools/launch-nested-kvm (kvm, host,+vmx)."""
    esp = os.path.abspath(esp)
    if not os.path.isfile(os.path.join(esp, "EFI", "BOOT", "BOOTX64.EFI")):
        raise FileNotFoundError(f"{esp} has no EFI/BOOT/BOOTX64.EFI (run `make uefi`)")
    if "," in esp or "," in vars_path:
        raise ValueError("QEMU cannot take paths with commas here")
    cmd = []
    if timeout:
        # SIGTERM at the limit, SIGKILL 5 s later if QEMU ignores it.
        cmd += ["timeout", "--kill-after=5", str(int(timeout))]
    cmd += [
        QEMU,
        "-machine",
        "q35",
        "-accel",
        accel,
    ]
    if cpu:
        cmd += ["-cpu", cpu]
    cmd += [
        "-m",
        str(int(memory)),
        "-display",
        "none",
        "-monitor",
        "none",
        "-net",
        "none",
        "-drive",
        f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
        "-drive",
        f"if=pflash,format=raw,unit=1,file={vars_path}",
        # The ESP is a plain directory that QEMU presents as a FAT disk.
        "-drive",
        f"format=raw,file=fat:rw:{esp}",
        "-device",
        f"isa-debug-exit,iobase={DEBUG_EXIT_PORT:#x},iosize=0x04",
    ]
    if no_reboot:
        # A triple fault (e.g. an exception before the hypervisor has an
        # IDT) ends QEMU instead of rebooting into the loader again.
        cmd += ["-no-reboot"]
    if serial_port is not None:
        cmd += [
            "-chardev",
            f"socket,id=s0,host=127.0.0.1,port={int(serial_port)},server=on,wait=off",
            "-serial",
            "chardev:s0",
        ]
    elif serial_file is not None:
        cmd += ["-serial", f"file:{os.path.abspath(serial_file)}"]
    else:
        cmd += ["-serial", "null"]
    cmd += list(extra_args)
    return cmd


def start_qemu(esp, workdir=None, log_path=None, **options):
    """Starts QEMU in its own process group and returns the Popen. options are
    build_command()'s (memory, serial_port, serial_file, timeout, no_reboot,
    extra_args, accel, cpu). QEMU's own stdout/stderr go to log_path (default
    WORKDIR/qemu.log)."""
    if workdir is None:
        workdir = tempfile.mkdtemp(prefix="hv-qemu-")
    cmd = build_command(esp, prepare_vars(workdir), **options)
    if log_path is None:
        log_path = os.path.join(workdir, "qemu.log")
    with open(log_path, "wb") as log:
        log.write((" ".join(cmd) + "\n").encode())
        log.flush()
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    proc.hv_cmd = cmd
    proc.hv_log = log_path
    return proc


def stop_qemu(proc, grace=3.0):
    """Ends QEMU (and the `timeout` around it) if still running; returns the
    exit status. Safe to call more than once."""
    stop_group(proc, grace, grace)
    return proc.wait()


class QemuInstance:
    """One QEMU machine, with the part of BochsInstance's interface the demo and
    the tests use (pid, serial_port, log_path, alive, wait, stop, describe_exit)."""

    def __init__(self, proc, serial_port):
        self.proc, self.serial_port = proc, serial_port
        self.pid = proc.pid
        self.log_path = proc.hv_log

    def log_tail(self, n=10):
        """The last n lines of QEMU's log, each with its line end."""
        return tail_file(self.log_path, n) + "\n"

    def alive(self):
        return self.proc.poll() is None

    def wait(self, timeout=None):
        """Its exit status, 0 for a poweroff (the guest wrote 0 to isa-debug-exit:
        QEMU exits (0 << 1) | 1); None if still running after timeout."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return 0 if rc == debug_exit_status(0) else rc

    def stop(self, grace=1):
        return stop_qemu(self.proc, grace=grace)

    def describe_exit(self):
        rc = self.proc.poll()
        return (
            "still running"
            if rc is None
            else "status %d%s" % (rc, " (poweroff through isa-debug-exit)" if rc == 1 else "")
        )


# ---- nested VT-x under KVM (tools/launch-nested-kvm) -------------------------
def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def cpu_info(cpuinfo_text):
    """(vendor, set of flags) of the first CPU in /proc/cpuinfo."""
    vendor, flags = "unknown", set()
    for line in (cpuinfo_text or "").splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "vendor_id" and vendor == "unknown":
            vendor = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    return vendor, flags


def host_problems(root="/"):
    """Lines that explain why nested VT-x under KVM cannot work here; [] if it can.
    root lets tests point the checks at a fake /dev, /proc, /sys."""
    p = lambda *parts: os.path.join(root, *parts)  # noqa: E731
    problems = []

    kvm = p("dev", "kvm")
    if not os.path.exists(kvm):
        problems.append(
            "/dev/kvm is missing: KVM is not available on this host "
            "(no kvm module loaded, or running in a VM without nested "
            "virtualization)"
        )
    elif not os.access(kvm, os.R_OK | os.W_OK):
        problems.append(
            "/dev/kvm is not accessible to this user: add yourself to the "
            "'kvm' group (then log in again) or run as root"
        )

    cpuinfo = read(p("proc", "cpuinfo"))
    vendor, flags = cpu_info(cpuinfo)
    if cpuinfo is None:
        problems.append("cannot read /proc/cpuinfo to check for the vmx CPU flag")
    elif "vmx" not in flags:
        if vendor == "AuthenticAMD" or "svm" in flags:
            problems.append(
                f"this host CPU is AMD ({vendor}{', has svm' if 'svm' in flags else ''}"
                "): the hypervisor needs Intel VT-x (vmx), which KVM on AMD "
                "cannot offer to a guest"
            )
        else:
            problems.append(
                f"the host CPU ({vendor}) has no 'vmx' flag in /proc/cpuinfo: "
                "VT-x is absent or disabled in the firmware setup "
                "(enable 'Intel Virtualization Technology')"
            )

    modules = set()
    try:
        modules = set(os.listdir(p("sys", "module")))
    except OSError:
        pass
    others = sorted(m for m in modules if m.startswith("kvm_") and m != "kvm_intel")
    for m in others:
        why = {
            "kvm_amd": "KVM for AMD SVM, which cannot run VT-x guests",
            "kvm_pvm": "a paravirtual KVM (PVM) that runs no VMX guests and no "
            "normal firmware such as OVMF",
        }.get(m, "not kvm_intel")
        problems.append(f"the loaded KVM module is {m}: {why}; nested VT-x needs kvm_intel")
    if "kvm_intel" not in modules:
        if not others:
            problems.append("the kvm_intel module is not loaded: run " "`sudo modprobe kvm_intel nested=1`")
    else:
        nested = read(p("sys", "module", "kvm_intel", "parameters", "nested"))
        if nested is None:
            problems.append("cannot read /sys/module/kvm_intel/parameters/nested")
        elif nested.strip() not in ("Y", "y", "1"):
            problems.append(
                f"kvm_intel's nested parameter is {nested.strip()!r}, not Y: run "
                "`sudo modprobe -r kvm_intel && sudo modprobe kvm_intel nested=1` "
                "(with no VMs running); make it permanent with "
                "`options kvm_intel nested=1` in /etc/modprobe.d/kvm.conf"
            )
    return problems


def tool_problems(esp=None):
    """Missing QEMU/OVMF; a missing loader too when esp is given."""
    problems = []
    if shutil.which(QEMU) is None:
        problems.append(f"{QEMU} is not installed (Debian: apt install qemu-system-x86)")
    for f in (OVMF_CODE, OVMF_VARS):
        if not os.path.isfile(f):
            problems.append(f"{f} is missing (Debian: apt install ovmf)")
    if esp is not None and not os.path.isfile(os.path.join(esp, "EFI", "BOOT", "BOOTX64.EFI")):
        problems.append(f"{esp}/EFI/BOOT/BOOTX64.EFI is missing: run `make uefi` first")
    return problems


def pair_net_args(index, base_port, mac_prefix="52:54:00:48:56"):
    """Instance 0 and 1 on one Ethernet link: -netdev dgram over loopback UDP
    (no start-order dependency), an e1000 NIC each, distinct MACs."""
    local, remote = (base_port, base_port + 1) if index == 0 else (base_port + 1, base_port)
    return [
        "-netdev",
        f"dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port={local},"
        f"remote.type=inet,remote.host=127.0.0.1,remote.port={remote}",
        "-device",
        f"e1000,netdev=n0,mac={mac_prefix}:{index + 1:02x}",
    ]
