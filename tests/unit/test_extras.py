"""Optional extras: a package that needs one fails on import with a message naming it."""

import pytest

from civil.extras import MissingExtra, require_extra


def test_require_extra_names_the_missing_module_and_the_extra():
    require_extra("train", "json", "numpy")  # present: nothing happens
    with pytest.raises(MissingExtra) as caught:
        require_extra("train", "json", "civil_no_such_module")
    assert isinstance(caught.value, ImportError)
    assert caught.value.name == "civil_no_such_module"
    assert caught.value.extra == "train"
    assert "'.[train]'" in str(caught.value)
