"""Every notebook in notebooks/ runs top to bottom on a fresh pipeline output, with the test's own interpreter."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import CONFIG_DIR, ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]-*.ipynb"))
#: Seconds any single cell may take (the four notebooks run in ~15 s together).
CELL_TIMEOUT = 60
WHICH_PYTHON = "import sys; print(sys.executable, end='')"


def test_notebooks_exist_and_are_committed_without_outputs():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04"]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name}: outputs not stripped"
        first_code = next(c for c in nb.cells if c.cell_type == "code").source
        assert "from pipeline import results" in first_code, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_without_errors(path: Path, simulated_pipeline, monkeypatch):
    ctx, _ = simulated_pipeline
    monkeypatch.setenv("FAZHI_OUTPUT", str(ctx.out))
    monkeypatch.setenv("FAZHI_CONFIG", str(CONFIG_DIR))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(WHICH_PYTHON))
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",  # jupyter_client starts the native python3 kernel with sys.executable
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute()  # raises CellExecutionError naming the cell on the first error
    assert nb.cells[0].outputs[0]["text"] == sys.executable
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
