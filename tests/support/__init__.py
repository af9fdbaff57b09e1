"""Helpers shared by several test modules, which never import one another
(tests/test_import_rules.py). What plugin authors can use too lives in `assistant.testing`."""
