"""Forms generated from a pass's config dataclass: the wizard page with no UI code.

``ConfigForm(config_class)`` lays out one editor per field (spin boxes within the
declared limits, a check box, a drop-down for choices, check boxes for a list of
choices, a line edit for text, lists and optional values) with the field's help under
it, and validates through ``workbench.core.config_schema`` so the form, the CLI and
recipes reject the same values with the same message. Display hints in the field's
metadata (``display``: percent, slider, off-at-min; ``suffix``) change how a number is
shown, never what it accepts. Fields sharing a ``group``
are boxed together under its title, and a nested config is a box holding its own form.
``ConfigPage`` puts a form on a ``QWizardPage`` whose Next button follows validity;
``workbench.ui.pass_picker`` lists the registered passes beside the chosen one's form.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from workbench.core.config_schema import FieldSpec, config_from_dict, config_to_dict, fields_of
from workbench.core.errors import WorkbenchError
from workbench.ui.app_words import in_app_words

INT_LIMIT = 2**31 - 1  # QSpinBox holds a C int
FLOAT_LIMIT = 1e12
_INVALID_STYLE = "border: 1px solid #c0392b;"


class ConfigForm(QWidget):
    """Editors for every field of ``config_class``; ``value()`` is the validated config."""

    changed = Signal()  # any editor changed
    validity_changed = Signal(bool)

    def __init__(
        self,
        config_class: type,
        value: Any = None,
        parent: QWidget | None = None,
        *,
        only: Collection[str] | None = None,
        compact: bool = False,
        custom: Mapping[str, CustomEditor] | None = None,
    ) -> None:
        """``only`` shows just those fields (a wizard may spread one config over pages);
        ``value()`` then fills the others with their defaults. ``compact`` puts each
        field's help in its tooltip rather than under it (a narrow side panel);
        ``custom`` gives a field an editor of the caller's (e.g. a device chooser).
        Fields with a ``group`` share a titled box; a nested config gets a box of its
        own holding its form."""
        super().__init__(parent)
        self.setObjectName("config-form")
        self.config_class = config_class
        self.compact = compact
        self.nested = False  # True for the form of a nested config: the parent says errors
        self.specs = {
            spec.name: spec for spec in fields_of(config_class) if only is None or spec.name in only
        }
        self.custom = dict(custom or {})
        self.editors: dict[str, QWidget] = {}
        self.sliders: dict[str, QSlider] = {}  # beside the spin box of "slider" fields
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        layout = _form_layout()
        column.addLayout(layout)
        boxes: dict[str, QFormLayout] = {}
        for spec in self.specs.values():
            editor = self._editor(spec)
            editor.setObjectName(f"field-{spec.name}")
            editor.setToolTip(editor.toolTip() or _help(spec))
            self.editors[spec.name] = editor
            if spec.kind == "config":
                box = QGroupBox(spec.label)
                box.setObjectName(f"group-{spec.name}")
                QVBoxLayout(box).addWidget(editor)
                column.addWidget(box)
                continue
            rows = layout
            if spec.group:
                if spec.group not in boxes:
                    box = QGroupBox(spec.group)
                    boxes[spec.group] = _form_layout(box)
                    column.addWidget(box)
                rows = boxes[spec.group]
            label = QLabel(spec.label + ("" if not spec.required else " *"))
            label.setToolTip(_help(spec))
            rows.addRow(label, self._cell(spec, editor))
        self.error_label = QLabel()
        self.error_label.setObjectName("config-error")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #c0392b;")
        column.addWidget(self.error_label)
        self._valid = True
        self.set_value(value if value is not None else None)

    def _cell(self, spec: FieldSpec, editor: QWidget) -> QWidget:
        """The editor, with its slider and (unless compact) its help under it."""
        slider = "slider" in spec.display and isinstance(editor, (QSpinBox, QDoubleSpinBox))
        if not slider and (self.compact or not spec.help):
            return editor
        cell = QWidget()
        column = QVBoxLayout(cell)
        column.setContentsMargins(0, 0, 0, 4)
        column.setSpacing(2)
        column.addWidget(editor)
        if slider:
            self.sliders[spec.name] = _slider(editor)
            column.addWidget(self.sliders[spec.name])
        if spec.help and not self.compact:
            help_label = HelpLabel(_help(spec))
            help_label.setObjectName(f"help-{spec.name}")
            help_label.setStyleSheet("color: palette(placeholder-text);")
            column.addWidget(help_label)
        return cell

    # -- reading and writing -------------------------------------------------------

    def values(self) -> dict[str, Any]:
        """The raw values as edited (text where a line edit holds them)."""
        return {name: self._read(self.specs[name], editor) for name, editor in self.editors.items()}

    def value(self) -> Any:
        """The config the form describes; ``WorkbenchError`` naming the field if invalid."""
        return config_from_dict(self.config_class, self.values())

    def error(self) -> str | None:
        try:
            self.value()
        except WorkbenchError as exc:
            return exc.message
        return None

    def is_valid(self) -> bool:
        return self._valid

    def set_value(self, config: Any = None) -> None:
        """Show ``config`` (a config instance or a dict); ``None`` shows the defaults."""
        if config is None:
            data = {n: s.default_value() for n, s in self.specs.items() if not s.required}
        elif isinstance(config, dict):
            data = config
        else:
            data = config_to_dict(config)
        for name, editor in self.editors.items():
            if name in data:
                self._write(self.specs[name], editor, data[name])
        self._revalidate()

    # -- editors ---------------------------------------------------------------------

    def _editor(self, spec: FieldSpec) -> QWidget:
        if spec.name in self.custom:
            custom = self.custom[spec.name]
            custom.changed.connect(self._on_edit)
            return custom.widget
        if spec.kind == "config":
            child = ConfigForm(spec.config_class, compact=self.compact)
            child.nested = True
            child.error_label.hide()
            child.changed.connect(self._on_edit)
            return child
        if spec.kind == "bool" and not spec.optional:
            box = QCheckBox()
            box.toggled.connect(self._on_edit)
            return box
        if spec.choices is not None and spec.kind == "list":
            group = QWidget()
            row = QHBoxLayout(group)
            row.setContentsMargins(0, 0, 0, 0)
            for choice in spec.choices:
                box = QCheckBox(str(choice))
                box.setProperty("choice", choice)
                box.toggled.connect(self._on_edit)
                row.addWidget(box)
            row.addStretch(1)
            return group
        if spec.choices is not None:
            combo = QComboBox()
            if spec.optional:
                combo.addItem("(none)", None)
            words = dict(spec.choice_labels)
            for choice in spec.choices:
                combo.addItem(words.get(choice, str(choice)), choice)
            combo.currentIndexChanged.connect(self._on_edit)
            return combo
        if spec.kind == "int" and not spec.optional:
            spin = QSpinBox()
            spin.setRange(*_bounds(spec, 0, INT_LIMIT))
            _show_hints(spin, spec)
            spin.valueChanged.connect(self._on_edit)
            return spin
        if spec.kind == "float" and not spec.optional:
            double = QDoubleSpinBox()
            decimals = spec.decimals if spec.decimals is not None else _decimals(spec)
            low, high = _bounds(spec, decimals, FLOAT_LIMIT)
            if "percent" in spec.display:  # the value stays a fraction; 0.5 shows as 50 %
                double.setRange(low * 100, high * 100)
                double.setDecimals(max(0, decimals - 2))
                double.setSingleStep(5)
                double.setSuffix(" %")
            else:
                double.setRange(low, high)
                double.setDecimals(decimals)
                double.setSingleStep(0.05 if high - low <= 1 else 0.1 if high - low <= 10 else 1)
            _show_hints(double, spec)
            double.valueChanged.connect(self._on_edit)
            return double
        line = QLineEdit()
        if spec.optional:
            line.setPlaceholderText("(none)")
        elif spec.kind == "list":
            line.setPlaceholderText("comma-separated")
        line.textChanged.connect(self._on_edit)
        return line

    def _read(self, spec: FieldSpec, editor: QWidget) -> Any:
        if spec.name in self.custom:
            return self.custom[spec.name].read()
        if isinstance(editor, ConfigForm):
            return editor.values()
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QComboBox):
            return editor.currentData()
        if isinstance(editor, (QSpinBox, QDoubleSpinBox)):
            if "percent" in spec.display:
                return round(editor.value() / 100, editor.decimals() + 2)
            return editor.value()
        if isinstance(editor, QLineEdit):
            return editor.text()
        boxes = editor.findChildren(QCheckBox)
        return [box.property("choice") for box in boxes if box.isChecked()]

    def _write(self, spec: FieldSpec, editor: QWidget, value: Any) -> None:
        if spec.name in self.custom:
            self.custom[spec.name].write(value)
        elif isinstance(editor, ConfigForm):
            editor.set_value(value)
        elif isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QComboBox):
            index = editor.findData(value)
            editor.setCurrentIndex(max(index, 0))
        elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
            if value is not None:
                editor.setValue(value * 100 if "percent" in spec.display else value)
        elif isinstance(editor, QLineEdit):
            if value is None:
                editor.setText("")
            elif isinstance(value, (list, tuple)):
                editor.setText(", ".join(str(v) for v in value))
            else:
                editor.setText(str(value))
        else:
            chosen = set(value or [])
            for box in editor.findChildren(QCheckBox):
                box.setChecked(box.property("choice") in chosen)

    # -- validation ------------------------------------------------------------------

    def _on_edit(self, *_args: Any) -> None:
        self._revalidate()
        self.changed.emit()

    def _revalidate(self) -> None:
        values = self.values()
        first_error = None
        for name, editor in self.editors.items():
            marked = not isinstance(editor, ConfigForm)  # a nested form marks its own
            try:
                self.specs[name].check(values[name])
                style = ""
            except WorkbenchError as exc:
                style = _INVALID_STYLE
                first_error = first_error or exc.message
            if marked:
                editor.setStyleSheet(style)
        if first_error is None:
            first_error = self.error()  # cross-field checks in the config's __post_init__
        self.error_label.setText(first_error or "")
        self.error_label.setVisible(bool(first_error) and not self.nested)
        valid = first_error is None
        if valid != self._valid:
            self._valid = valid
            self.validity_changed.emit(valid)


def _show_hints(spin: QSpinBox | QDoubleSpinBox, spec: FieldSpec) -> None:
    if spec.suffix:
        spin.setSuffix(spec.suffix)
    if "off-at-min" in spec.display:
        spin.setSpecialValueText("off")  # shown at the minimum (0: not asked for)


def _slider(spin: QSpinBox | QDoubleSpinBox) -> QSlider:
    """A horizontal slider over the spin box's range, kept in step with it both ways."""
    steps = 1000
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, steps)
    low, high = spin.minimum(), spin.maximum()

    def to_slider(value: float) -> None:
        slider.blockSignals(True)
        slider.setValue(round((value - low) / (high - low) * steps) if high > low else 0)
        slider.blockSignals(False)

    def to_spin(position: int) -> None:
        value = low + (high - low) * position / steps
        spin.setValue(round(value) if isinstance(spin, QSpinBox) else value)

    spin.valueChanged.connect(to_slider)
    slider.valueChanged.connect(to_spin)
    to_slider(spin.value())
    return slider


def _decimals(spec: FieldSpec) -> int:
    """Enough decimals to show the default and the limits exactly (2 to 6)."""
    shown = [v for v in (spec.default, spec.min, spec.max) if isinstance(v, (int, float))]
    places = [len(f"{v:.6g}".partition(".")[2]) for v in shown if "e" not in f"{v:.6g}"]
    return min(6, max([2, *places]))


def _bounds(spec: FieldSpec, decimals: int, limit: float) -> tuple[Any, Any]:
    """A spin box's range: the field's limits (an exclusive one moved in by one step;
    ``form_max`` where there is no top), within what the spin box can hold."""
    step = 1 if isinstance(limit, int) else 10**-decimals
    low = spec.min if spec.min is not None else None
    if spec.above is not None:
        low = spec.above + step if low is None else max(low, spec.above + step)
    high = spec.max if spec.max is not None else spec.form_max
    if spec.below is not None:
        high = spec.below - step if high is None else min(high, spec.below - step)
    return _limit(low, -limit), _limit(high, limit)


def _limit(bound: float | None, fallback: float) -> Any:
    if bound is None:
        return fallback
    return type(fallback)(max(min(bound, abs(fallback)), -abs(fallback)))


class HelpLabel(QLabel):
    """Word-wrapped help that claims the height its lines need at its width.

    A form row is sized from its cell's size hint, which Qt takes for a wrapped label
    at a guessed width; at the real (narrower) width the extra lines were drawn behind
    the next field. Setting the minimum height from ``heightForWidth`` on each resize
    makes the layout give them room (the form scrolls when that is taller than the page).
    """

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)

    def resizeEvent(self, event: Any) -> None:  # Qt's name
        super().resizeEvent(event)
        needed = self.heightForWidth(self.width())
        if needed > 0 and needed != self.minimumHeight():
            self.setMinimumHeight(needed)


def _help(spec: FieldSpec) -> str:
    """The field's help as the app says it: a help text may name a CLI flag."""
    return in_app_words(spec.help)


def _form_layout(parent: QWidget | None = None) -> QFormLayout:
    layout = QFormLayout(parent) if parent is not None else QFormLayout()
    layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    return layout


@dataclass
class CustomEditor:
    """A caller's editor for one field: the widget, how to read and show the value, and
    the signal it changes by."""

    widget: QWidget
    read: Callable[[], Any]
    write: Callable[[Any], None]
    changed: Any  # a bound Qt signal


class ConfigPage(QWizardPage):
    """A wizard page holding a ``ConfigForm``; Next is enabled only when it is valid."""

    def __init__(
        self, config_class: type, title: str = "", subtitle: str = "", parent: Any = None
    ) -> None:
        super().__init__(parent)
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.form = ConfigForm(config_class)
        self.form.validity_changed.connect(lambda _valid: self.completeChanged.emit())
        QVBoxLayout(self).addWidget(self.form)

    def isComplete(self) -> bool:  # Qt's name
        return self.form.is_valid()
