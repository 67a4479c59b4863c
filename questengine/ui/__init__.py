"""Widgets and pages (ipywidgets + one anywidget map). Pages talk to the classroom service only."""
