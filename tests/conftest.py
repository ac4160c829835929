"""Shared pytest configuration: hypothesis profiles.

The default profile keeps the property tests short; ``--hypothesis-profile=long``
runs 10,000 examples per property.
"""

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the property tests skip themselves without hypothesis
    pass
else:
    _common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("default", max_examples=25, **_common)
    settings.register_profile("long", max_examples=10_000, **_common)
    settings.load_profile("default")
