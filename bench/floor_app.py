"""The HTTP floor: a bare Flask route returning constant JSON, served by the same gunicorn
config as the product (``gunicorn -c deploy/gunicorn.conf.py bench.floor_app:server``).

Whatever the product spends above this per request is its own: auth, parameter
parsing, the query or the cache, serialization.
"""
from flask import Flask, jsonify

server = Flask(__name__)


@server.get("/floor")
def floor():
    return jsonify(tenant="acme", metric="connections", value=1520)
