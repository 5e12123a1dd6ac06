"""Memory an input implies, against the memory available (measured)."""

from __future__ import annotations

from optimiser.memory import available_bytes, fmt_bytes, instance_bytes


def test_available_bytes_is_measured_and_overridable(monkeypatch):
    monkeypatch.delenv("OPTIMISER_MEMORY_BYTES", raising=False)
    free = available_bytes()
    assert 0 < free < 1 << 50
    with open("/proc/meminfo") as f:
        meminfo = {ln.split(":")[0]: int(ln.split()[1]) * 1024 for ln in f}
    assert free <= meminfo["MemTotal"]
    monkeypatch.setenv("OPTIMISER_MEMORY_BYTES", "12345")
    assert available_bytes() == 12345


def test_instance_bytes_never_overflows():
    dense, lp = instance_bytes(10**12, 1, 1, 1)
    assert dense == 8 * 10**12 * 4 and lp > dense
    assert instance_bytes(10, 2, 3, 4) == (8 * 10 * (2 + 9), 100 * 10 * (4 + 9))


def test_fmt_bytes():
    assert fmt_bytes(512) == "512 bytes"
    assert fmt_bytes(1536) == "1.5 KiB"
    assert fmt_bytes(8 * 10**12) == "7.3 TiB"
