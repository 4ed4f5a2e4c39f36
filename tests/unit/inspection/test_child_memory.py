"""The worker's per-request memory figures (gateway.inspection.child._Memory) are proc_status's."""

from __future__ import annotations

from gateway.inspection.child import _Memory, _status_field, proc_status

STATUS = (
    b"Name:\tgw-inspect\nUmask:\t0022\nState:\tR (running)\nVmPeak:\t 2000000 kB\nVmSize:\t 1900000 kB\n"
    b"VmLck:\t       0 kB\nVmHWM:\t  612340 kB\nVmRSS:\t  598000 kB\nRssAnon:\t  500000 kB\nThreads:\t2\n"
)


def test_status_fields_are_read_in_bytes() -> None:
    assert _status_field(STATUS, b"\nVmRSS:") == 598000 * 1024
    assert _status_field(STATUS, b"\nVmHWM:") == 612340 * 1024
    assert _status_field(STATUS, b"\nVmSwap:") == 0  # absent (a kernel thread has no Vm lines)
    assert _status_field(b"Name:\tx\nVmRSS:\tbroken\n", b"\nVmRSS:") == 0
    assert _status_field(b"Name:\tx\nVmRSS:", b"\nVmRSS:") == 0


def test_same_values_as_proc_status() -> None:
    """Read between two reads of /proc/self/status: the figures can move (an allocation), so each must
    equal what proc_status says on either side in one of a few tries."""
    memory = _Memory()
    matched = set()
    for _ in range(20):
        before = proc_status("VmSize", "VmRSS", "VmHWM")
        size = memory.vm_size()
        rss, peak = memory.rss_and_peak()
        after = proc_status("VmSize", "VmRSS", "VmHWM")
        for name, value in (("VmSize", size), ("VmRSS", rss), ("VmHWM", peak)):
            assert value > 0
            if value in (before[name], after[name]):
                matched.add(name)
    assert matched == {"VmSize", "VmRSS", "VmHWM"}


def test_a_file_that_cannot_be_read_gives_zero() -> None:
    memory = _Memory()
    memory._statm = memory._status = -1
    assert memory.vm_size() == 0
    assert memory.rss_and_peak() == (0, 0)
