"""The Training tab: settings form, run controls and live curves."""
