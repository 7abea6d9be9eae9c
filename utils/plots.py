"""How the lessons show a figure: once, as an image stored with the notebook, then closed.

``plt.show()`` depends on the matplotlib backend: inline it draws, but the figure stays open, and
a cell that draws twice (or a kernel whose backend is not inline) stores no image. ``display``
hands the figure to IPython's formatters, which store a PNG in the notebook (with its one-line
text form beside it, the part a test of the outputs compares), and closing it means it is never
drawn a second time.
"""

from __future__ import annotations

from typing import Any

__all__ = ["show"]


def show(figure: Any) -> None:
    """Display ``figure`` once (inline: a PNG in the cell's output) and close it."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(figure)
    plt.close(figure)
