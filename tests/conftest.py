import pytest

from diagnose.demo.site import LocalSite


@pytest.fixture
def site():
    """A fresh local web site on 127.0.0.1; add routes with site.add(path, Page|callable)."""
    with LocalSite() as s:
        yield s


@pytest.fixture
def local_policy():
    from diagnose.web.fetch import NetPolicy

    return NetPolicy(timeout=2.0, allow_private=True)
