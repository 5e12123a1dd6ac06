"""The stdout guard is process-wide: interleaved threads must leave fd 1 as it was."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_interleaved_guards_restore_stdout():
    code = textwrap.dedent("""
        import os, sys, threading
        from optimiser._fdcapture import stdout_to_stderr
        before = os.fstat(1).st_ino
        a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
        def a():
            with stdout_to_stderr():
                os.write(1, b"native-a\\n")
                a_in.set(); b_in.wait()
            a_out.set()
        def b():
            a_in.wait()
            with stdout_to_stderr():
                b_in.set(); a_out.wait()
                os.write(1, b"native-b\\n")
        ts = [threading.Thread(target=f) for f in (a, b)]
        [t.start() for t in ts]; [t.join() for t in ts]
        assert os.fstat(1).st_ino == before
        print("clean")
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "clean\n"
    assert "native-a" in p.stderr and "native-b" in p.stderr


def test_guard_sends_native_writes_to_stderr_and_restores():
    code = textwrap.dedent("""
        import os
        from optimiser._fdcapture import stdout_to_stderr
        os.write(1, b"before\\n")
        with stdout_to_stderr():
            os.write(1, b"inside\\n")  # what a solver's C code would print
            with stdout_to_stderr():  # nested: still stderr
                os.write(1, b"nested\\n")
            os.write(1, b"inside again\\n")
        os.write(1, b"after\\n")
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "before\nafter\n"
    assert p.stderr == "inside\nnested\ninside again\n"
