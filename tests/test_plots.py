"""How the lessons show a figure (utils/plots.py): once, then closed."""

from __future__ import annotations

import pytest


def test_plots_show_displays_once_and_closes(capsys: pytest.CaptureFixture) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from utils import plots

    figure, _ = plt.subplots(figsize=(2, 1))
    plots.show(figure)
    assert "200x100" in capsys.readouterr().out  # outside IPython, display() prints it
    assert figure.number not in plt.get_fignums()
