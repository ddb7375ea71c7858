"""What the tests share: app builder, credentials, services, exports, the oracle.

A test module imports helpers from here only, never from another test module or a conftest
(tests/test_test_layout.py checks it); fixtures come from the conftest files.
"""
