"""Checks of the API's problem+json answers."""
from __future__ import annotations


def problem(response, status: int) -> dict:
    """The problem+json body of ``response``, checked for shape and status."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def invalid_names(response) -> list[str]:
    return [p["name"] for p in problem(response, 400)["invalid_params"]]
