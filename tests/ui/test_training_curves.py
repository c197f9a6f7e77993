"""The training curves stay readable: sane log axes, no legend on the small plots."""

from __future__ import annotations

import numpy as np

from workbench.ui.training.curves import TrainingCurves


def _filled(qtbot, steps: int = 500) -> TrainingCurves:
    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.resize(700, 450)
    curves.show()
    x = np.arange(1, steps + 1)
    curves.reset([0.1] * steps)
    curves.add_steps(x, np.exp(-x / 100) + 0.05, [0.1] * steps)
    return curves


def test_log_x_in_envelope_mode_keeps_the_axis_on_the_data(qtbot) -> None:
    curves = _filled(qtbot)
    curves.set_mode("envelope")
    curves.set_log(True, False)
    view = curves.loss_plot.getPlotItem().getViewBox()
    view.autoRange()
    (x_low, x_high), _ = view.viewRange()
    # log10 of steps 1..500 is 0..2.7; the stale fill used to stretch this to 1e-226..1e308
    assert -0.5 < x_low < 0.1 and 2.6 < x_high < 3.2
    curves.set_log(False, False)
    view.autoRange()
    (x_low, x_high), _ = view.viewRange()
    assert x_low < 5 and 490 < x_high < 540


def test_small_plots_carry_no_legend_and_the_key_names_earlier_runs_only_when_shown(
    qtbot,
) -> None:
    curves = _filled(qtbot)
    assert curves.loss_plot.getPlotItem().legend is not None
    for plot in (curves.epoch_plot, curves.acc_plot, curves.lr_plot):
        assert plot.getPlotItem().legend is None
    assert "train" in curves.key.text() and "earlier" not in curves.key.text()
    history = {"steps": [1, 2, 3], "losses": [1.0, 0.5, 0.4], "epochs": []}
    curves.set_earlier_runs([history])
    assert "earlier&nbsp;runs" in curves.key.text()
    curves.set_show_earlier(False)
    assert "earlier" not in curves.key.text()


def test_every_plot_title_shows_whole_at_the_smallest_size_the_layout_allows(qtbot) -> None:
    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.resize(curves.minimumSizeHint())
    curves.show()
    qtbot.waitExposed(curves)
    qtbot.wait(50)
    plots = (curves.loss_plot, curves.epoch_plot, curves.acc_plot, curves.lr_plot)
    for plot in plots:
        title = plot.getPlotItem().titleLabel
        shown = title.item.mapRectToScene(title.item.boundingRect())
        assert title.item.toPlainText()  # the title is there, and within the plot's view
        assert shown.left() >= 0 and shown.right() <= plot.viewport().width(), (
            title.item.toPlainText(),
            shown,
            plot.viewport().width(),
        )


def test_small_plots_space_their_tick_labels_apart(qtbot) -> None:
    """A 100-px plot read "0.20.40.60.8": its labelled ticks are now MIN_TICK_PX apart."""
    from pyqtgraph import PlotWidget

    from workbench.ui.training.curves import MIN_TICK_PX, SparseAxis

    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.resize(380, 420)
    curves.show()
    qtbot.waitExposed(curves)
    small = [w for w in curves.findChildren(PlotWidget) if w.getPlotItem().legend is None]
    assert len(small) == 3
    for plot in small:
        for name in ("bottom", "left"):
            axis = plot.getPlotItem().getAxis(name)
            assert isinstance(axis, SparseAxis)
            size = axis.width() if name == "bottom" else axis.height()
            for low, high in ((0.0, 1.0), (1.0, 10.0), (0.0, 0.003)):
                levels = axis.tickSpacing(low, high, size)
                assert len(levels) == 1  # no labelled minor level
                assert size / ((high - low) / levels[0][0]) >= MIN_TICK_PX
