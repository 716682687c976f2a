"""An installed copy (not the checkout) has every module, its shipped specs, sample and record schema."""

import subprocess
import sys
import zipfile

import pytest
from conftest import REPO


@pytest.mark.slow
def test_wheel_carries_specs_sample_and_schema(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "-w", tmp_path / "wheel", REPO], check=True, capture_output=True)
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"fer_bench/specs/{p.name}" for p in (REPO / "benchmark").glob("*.yaml")}
    assert shipped <= names
    modules = {str(p.relative_to(REPO)) for p in (REPO / "fer_bench").rglob("*.py")}
    assert modules <= names, sorted(modules - names)  # every subpackage listed in pyproject.toml
    assert {"fer_bench/sample/fer2013-sample.csv.gz", "fer_bench/schema/record.schema.json",
            "fer_bench/templates/report.html.j2", "fer_bench/templates/report.md.j2"} <= names
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", tmp_path / "site", wheel],
                   check=True, capture_output=True)
    result = subprocess.run([sys.executable, "-m", "fer_bench", "validate", "dropout", "smoke"],
                            cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "ok: dropout: dropout, 9 trials" in result.stdout and "smoke, 2 trials" in result.stdout
    code = "from fer_bench.report.render import template_dir; print(template_dir())"
    found = subprocess.run([sys.executable, "-c", code],
                           cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"},
                           capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == str(tmp_path / "site" / "fer_bench" / "templates")
