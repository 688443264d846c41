"""SSRF refusal: only public http(s) hosts are fetched unless the allow-list names a host or network."""

import socket

import pytest

from gather.ssrf import UrlRefused, check_url, forbidden_kind

REFUSED = {
    "http://127.0.0.1/a.jpg": "loopback",
    "http://127.1/a.jpg": "loopback",  # short form, resolved by the system like any other
    "http://2130706433/a.jpg": "loopback",  # decimal form
    "http://localhost:8080/a.jpg": "loopback",
    "http://10.0.0.1/a.jpg": "private",
    "http://192.168.1.20/a.jpg": "private",
    "http://172.16.0.5/a.jpg": "private",
    "http://169.254.169.254/latest/meta-data/": "link-local",  # cloud metadata
    "http://0.0.0.0/": "unspecified",
    "http://224.0.0.1/": "multicast",
    "http://100.64.0.1/": "non-global",  # carrier-grade NAT
    "http://[::1]/a.jpg": "loopback",
    "http://[fe80::1]/a.jpg": "link-local",
    "http://[fd00::1]/a.jpg": "private",
    "http://[::]/": "unspecified",
    "http://[ff02::1]/": "multicast",
    "http://[::ffff:127.0.0.1]/a.jpg": "loopback",  # IPv4-mapped
    "http://[::ffff:10.0.0.1]/a.jpg": "private",
    "http://[2002:7f00:1::]/": "loopback",  # 6to4 carrying 127.0.0.1
    "http://[64:ff9b::a00:1]/": "private",  # NAT64 carrying 10.0.0.1
}


@pytest.mark.parametrize("url, kind", REFUSED.items())
def test_internal_addresses_are_refused(url, kind):
    with pytest.raises(UrlRefused) as refused:
        check_url(url, [])
    assert kind in refused.value.reason and "MOSAIC_URL_ALLOWLIST" in refused.value.reason


@pytest.mark.parametrize("url", ["http://8.8.8.8/a.jpg", "https://1.1.1.1:8443/a.jpg", "http://[2606:4700::1111]/"])
def test_public_addresses_pass(url):
    check_url(url, [])


@pytest.mark.parametrize(
    "url",
    ["ftp://8.8.8.8/a.jpg", "file:///etc/passwd", "gopher://8.8.8.8/", "javascript:alert(1)", "/relative/a.jpg",
     "data:image/jpeg;base64,AAAA"],
)
def test_other_schemes_are_refused(url):
    with pytest.raises(UrlRefused, match="only http and https"):
        check_url(url, ["0.0.0.0/0"])


@pytest.mark.parametrize("url", ["http://user:secret@8.8.8.8/a.jpg", "https://user@8.8.8.8/", "http://:pw@8.8.8.8/"])
def test_credentials_are_refused(url):
    with pytest.raises(UrlRefused, match="credentials"):
        check_url(url, [])


def test_malformed_and_hostless_urls_are_refused():
    for url in ("http://8.8.8.8:99999/", "http:///a.jpg", "http://[::1/"):
        with pytest.raises(UrlRefused):
            check_url(url, [])


def test_allow_list_by_ip_cidr_and_hostname():
    check_url("http://127.0.0.1:8000/a.jpg", ["127.0.0.1"])
    check_url("http://[::ffff:127.0.0.1]/a.jpg", ["127.0.0.1"])  # the mapped form is the same host
    check_url("http://10.1.2.3/a.jpg", ["10.0.0.0/8"])
    check_url("http://[fd00::5]/a.jpg", ["fd00::/8"])
    check_url("http://localhost/a.jpg", ["LOCALHOST."])
    with pytest.raises(UrlRefused):
        check_url("http://10.1.2.3/a.jpg", ["127.0.0.1", "192.168.0.0/16", "localhost"])
    with pytest.raises(UrlRefused):
        check_url("http://127.0.0.2/a.jpg", ["127.0.0.1"])


def _fake_dns(monkeypatch, answers: dict[str, list[str]]):
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        return [
            (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "",
             (ip, port, 0, 0) if ":" in ip else (ip, port))
            for ip in answers[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_every_address_of_a_host_is_checked(monkeypatch):
    _fake_dns(monkeypatch, {"photos.example": ["93.184.216.34", "10.0.0.7"], "ok.example": ["93.184.216.34"],
                            "six.example": ["2606:2800:220:1::1", "fe80::9"]})
    check_url("https://ok.example/a.jpg", [])
    with pytest.raises(UrlRefused, match=r"photos.example \(10.0.0.7\) is a private"):
        check_url("https://photos.example/a.jpg", [])
    with pytest.raises(UrlRefused, match="link-local"):
        check_url("https://six.example/a.jpg", [])
    check_url("https://photos.example/a.jpg", ["photos.example"])  # a named host may reach all its addresses


def test_unresolvable_host_is_refused(monkeypatch):
    def fail(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(UrlRefused, match="cannot resolve"):
        check_url("http://nowhere.example/", [])


def test_forbidden_kind_of_public_addresses_is_none():
    import ipaddress

    for ip in ("8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8"):
        assert forbidden_kind(ipaddress.ip_address(ip)) is None, ip
