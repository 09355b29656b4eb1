"""Security probes, run against a live server as an integrator holding one channel's key would send them.

Fixtures (`make_live_api`, `live_api`, `operations`) are in tests/harness/live_api.py. See docs/SECURITY.md.
"""
