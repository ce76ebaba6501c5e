"""The CPU image (containers/Dockerfile), built with podman, runs real steps on the test data and writes the bytes
the host's pygenome writes. No base image can be pulled here, so a Debian bookworm base is made with debootstrap and
imported, then passed to the build as its BASE. podman reads tests/containers.conf (runc as its runtime, explicit
ulimits: what it needs as root on these machines). Skipped only where podman cannot run (not root, or podman,
debootstrap or runc missing; .ci/run installs them)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pygenome import __version__

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "assets" / "test"
BASE = "localhost/pygenome-base:bookworm"
IMAGE = "localhost/pygenome:test"
WHEELS = Path("/opt/wheels")  # the machines' local torch CPU wheel, where there is one
CERTIFICATES = Path(os.environ.get("PIP_CERT", "/etc/ssl/certs/ca-certificates.crt"))

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("podman", "debootstrap", "runc")),
    reason="podman builds here as root with runc, and the base image is made with debootstrap")


ENVIRONMENT = {**os.environ, "CONTAINERS_CONF": str(ROOT / "tests" / "containers.conf")}


def podman(*args, check=True, **kwargs):
    return subprocess.run(["podman", *args], check=check, capture_output=True, text=True, env=ENVIRONMENT, **kwargs)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    if podman("image", "exists", BASE, check=False).returncode != 0:
        rootfs = tmp_path_factory.mktemp("rootfs")
        subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs), "http://deb.debian.org/debian"],
                       check=True, capture_output=True)
        archive = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        podman("import", "-", BASE, stdin=archive.stdout)
        archive.wait()
    options = ["--build-arg", f"BASE={BASE}"]
    if WHEELS.is_dir():
        options += ["-v", f"{WHEELS}:/wheels:ro", "--build-arg", "PIP_FIND_LINKS=/wheels", "--build-arg",
                    "TORCH_INDEX=https://pypi.org/simple"]
    if CERTIFICATES.is_file():  # an intercepting proxy's certificate authority, where there is one
        options += ["-v", f"{CERTIFICATES}:/host-ca.crt:ro", "--build-arg", "PIP_CERT=/host-ca.crt"]
    podman("build", "-f", "containers/Dockerfile", *options, "-t", IMAGE, ".", cwd=ROOT)
    yield IMAGE
    podman("rmi", "-f", IMAGE, check=False)


def in_image(image, out: Path, *argv) -> str:
    return podman("run", "--rm", "-v", f"{TEST_DATA}:/data:ro", "-v", f"{out}:/out", image, *argv).stdout


def on_host(*argv) -> None:
    subprocess.run([sys.executable, "-m", "pygenome", *argv], check=True, capture_output=True)


def test_the_image_holds_this_pygenome(image, tmp_path):
    assert in_image(image, tmp_path, "pygenome", "--version").strip() == f"pygenome {__version__}"


def test_the_image_holds_everything_every_step_imports(image, tmp_path):
    """pygenome is installed without dependencies over containers/requirements.lock: pip finds nothing missing, and
    every step loads (attribute, gia and filters import tangermeme)."""
    assert "No broken requirements found" in in_image(image, tmp_path, "pip", "check")
    steps = ", ".join(f"pygenome.steps.{path.stem}" for path in sorted((ROOT / "pygenome" / "steps").iterdir())
                      if path.suffix == ".py" and path.stem != "__init__" or (path / "__init__.py").is_file())
    in_image(image, tmp_path, "python3", "-c", f"import {steps}")


@pytest.mark.parametrize("step", ["label", "baseline"])
def test_a_step_in_the_image_writes_the_hosts_bytes(image, tmp_path, step):
    arguments = {"label": ["--fasta", "{data}/alpha.fa", "--topology", "circular", "--bam", "{data}/alpha.tex_plus.bam",
                           "--control-bam", "{data}/alpha.tex_minus.bam", "--prefix", "alpha", "--quiet"],
                 "baseline": ["--fasta", "{data}/beta.fa", "--topology", "circular", "--prefix", "beta"]}[step]
    inside, host = tmp_path / "inside", tmp_path / "host"
    inside.mkdir()
    in_image(image, inside, "pygenome", step, *(a.format(data="/data") for a in arguments), "--outdir", "/out")
    on_host(step, *(a.format(data=TEST_DATA) for a in arguments), "--outdir", str(host))
    written = sorted(path.name for path in host.iterdir())
    assert written and sorted(path.name for path in inside.iterdir()) == written
    for name in written:
        assert (inside / name).read_bytes() == (host / name).read_bytes(), name
