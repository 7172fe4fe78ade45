"""The site's icon: /favicon.ico answers on every site, and each page links it."""
import pytest
from django.test import Client


def test_favicon_ico_is_the_svg_icon() -> None:
    response = Client().get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")
    assert response.content.rstrip().endswith(b"</svg>")
    assert "max-age=86400" in response["Cache-Control"]
    assert Client().post("/favicon.ico").status_code == 405


@pytest.mark.django_db
def test_pages_link_the_icon() -> None:
    html = Client().get("/accounts/login/").content.decode()
    assert '<link rel="icon" href="/favicon.ico" type="image/svg+xml">' in html
