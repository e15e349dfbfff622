import pytest

from civil.delivery.netguard import check_callback_url
from civil.errors import CallbackRefused


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/x",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
def test_internal_addresses_are_refused(url):
    with pytest.raises(CallbackRefused) as info:
        check_callback_url(url, allow_private=False)
    assert info.value.code == "callback_url_refused"


def test_allowed_when_configured():
    assert check_callback_url("http://127.0.0.1:9/x", allow_private=True) == ["127.0.0.1"]


def test_public_literal_address_passes():
    assert check_callback_url("https://93.184.216.34/hook", allow_private=False)


@pytest.mark.parametrize("url", ["ftp://example.com/", "not a url", "http:///nohost"])
def test_bad_urls(url):
    with pytest.raises(CallbackRefused):
        check_callback_url(url, allow_private=True)
