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
        # Not globally routable: CGNAT (cloud metadata at 100.100.100.200), 6to4 wrapping
        # loopback or link-local, site-local, Teredo to loopback, NAT64 of loopback, multicast.
        "http://100.64.0.1/",
        "http://100.100.100.200/latest/meta-data",
        "http://[2002:7f00:1::]/",
        "http://[2002:a9fe:a9fe::]/",
        "http://[fec0::1]/",
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
        "http://[64:ff9b::7f00:1]/",
        "http://224.0.0.1/",
        "http://192.0.0.1/",
    ],
)
def test_internal_addresses_are_refused(url):
    with pytest.raises(CallbackRefused) as info:
        check_callback_url(url, allow_private=False)
    assert info.value.code == "callback_url_refused"


def test_allowed_when_configured():
    assert check_callback_url("http://127.0.0.1:9/x", allow_private=True) == ["127.0.0.1"]


@pytest.mark.parametrize(
    "url", ["https://93.184.216.34/hook", "http://[2002:5db8:d822::1]/", "http://[2606:4700::1]/"]
)
def test_public_literal_address_passes(url):
    assert check_callback_url(url, allow_private=False)


@pytest.mark.parametrize("url", ["ftp://example.com/", "not a url", "http:///nohost"])
def test_bad_urls(url):
    with pytest.raises(CallbackRefused):
        check_callback_url(url, allow_private=True)


@pytest.mark.parametrize(
    "url", ["http://100.100.100.200/hook", "http://[2002:a9fe:a9fe::]/", "http://[fec0::1]/"]
)
def test_sites_create_and_update_refuse_them(db, site, url):
    from civil.sites import create_site, update_site

    with db.session() as session, pytest.raises(CallbackRefused):
        create_site(session, name="X", callback_url=url, allow_private=False)
    with db.session() as session, pytest.raises(CallbackRefused):
        update_site(session, site.site_id, callback_url=url, allow_private=False)
