"""`serve`'s heap hand-back once ready: freed start-up memory leaves the process's resident set."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# In a process of its own: what this test frees must not mix with the test runner's heap.
PROGRAM = """
import sys
from apiserver.management.commands.serve import return_free_heap

def rss_mib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) // 1024

values = [bytes([index % 256]) * 4096 for index in range(20_000)]  # 80 MiB in malloc's heap, like stored values
keep = [bytes(4096) for _ in range(100)]  # allocated last: the freed values are not at the heap's top
del values
before = rss_mib()
return_free_heap()
print(before, rss_mib())
"""


def test_freed_memory_is_given_back_to_the_system() -> None:
    result = subprocess.run([sys.executable, "-c", PROGRAM], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={"DJANGO_SETTINGS_MODULE": "apiserver.settings", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    before, after = map(int, result.stdout.split())
    assert before - after >= 60, (before, after)
