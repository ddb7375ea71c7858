"""Dataviz ETL: find the newest LMS export, validate it, aggregate it, publish a snapshot."""
