"""The Dataviz web app: one Flask server carrying the Dash pages and the JSON API.

Deliberately empty: ``import app.config`` (which the ETL does) must not load
Flask, Dash or Plotly. The app is built by ``app.factory.create_app``.
"""
