"""Dash page layouts, one module per page."""
