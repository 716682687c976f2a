"""docs/notebook.ipynb, executed as a reader would run it (nbclient, a real Jupyter kernel): a model
defined in a cell, a 2-trial sweep on the bundled sample, the records as a DataFrame, the report inline."""

import json

import nbformat
import pytest
from conftest import REPO
from nbclient import NotebookClient

from fer_bench.records import iter_records


@pytest.mark.slow
def test_the_notebook_runs_a_model_from_a_cell_and_shows_its_report(tmp_path):
    notebook = nbformat.read(REPO / "docs" / "notebook.ipynb", as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    records = [r for _, r in iter_records(tmp_path / "notebook-results")]
    assert sorted(r["params"]["model.params.filters"] for r in records) == [8, 16]
    assert all(r["status"] == "complete" and r["model"]["builder"] == "small_cnn" for r in records)
    outputs = {cell["id"]: cell.get("outputs", []) for cell in notebook.cells if cell["cell_type"] == "code"}
    shown = json.dumps(outputs)
    plan, trained, page = (outputs[f"cell-{i}"] for i in (3, 5, 7))
    assert "pending" in json.dumps(plan) and "complete" in json.dumps(trained)
    assert sum(json.dumps(trained).count(r["trial_id"]) for r in records) >= 2  # the DataFrame, one row each
    (frame,) = (o for o in page if o.get("output_type") == "execute_result")
    assert frame["data"]["text/html"].startswith("<div><iframe srcdoc=") and "notebook" in frame["data"]["text/html"]
    assert "Traceback" not in shown and "Warning" not in shown
    assert (tmp_path / "notebook-results" / "report.html").is_file()
