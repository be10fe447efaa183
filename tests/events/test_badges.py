import io
import xml.etree.ElementTree as ET

from PIL import Image

from tests.support import assert_problem, event_with_staff, new_user, register


def _decode_qr_modules(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png))


def test_badge_png_and_svg_for_the_owner_with_cache_headers(anon):
    setup = event_with_staff(anon.client)
    attendee = new_user(anon.client)
    registration = register(attendee, setup.event_id)
    png = attendee.get(f"/v1/registrations/{registration['id']}/badge.png")
    assert png.status_code == 200
    assert png.mimetype == "image/png"
    assert _decode_qr_modules(png.data).size[0] > 100
    assert png.headers["Cache-Control"].startswith("private")
    etag = png.headers["ETag"]
    cached = attendee.get(
        f"/v1/registrations/{registration['id']}/badge.png", headers={"If-None-Match": etag}
    )
    assert cached.status_code == 304
    svg = attendee.get(f"/v1/registrations/{registration['id']}/badge.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert ET.fromstring(svg.data).tag.endswith("svg")
    assert svg.headers["ETag"] != etag


def test_badge_qr_encodes_the_public_badge_url(anon):
    import qrcode

    setup = event_with_staff(anon.client)
    attendee = new_user(anon.client)
    registration = register(attendee, setup.event_id)
    expected = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4
    )
    expected.add_data(f"https://wellspring.test/b/{registration['badge_code']}")
    expected.make(fit=True)
    buffer = io.BytesIO()
    expected.make_image().save(buffer, format="PNG")
    served = attendee.get(f"/v1/registrations/{registration['id']}/badge.png").data
    assert (
        Image.open(io.BytesIO(served)).tobytes()
        == Image.open(io.BytesIO(buffer.getvalue())).tobytes()
    )


def test_badge_images_are_private_to_the_owner(anon):
    setup = event_with_staff(anon.client)
    attendee = new_user(anon.client)
    registration = register(attendee, setup.event_id)
    for caller in (setup.organizer, new_user(anon.client)):
        assert_problem(caller.get(f"/v1/registrations/{registration['id']}/badge.png"), 404)
    assert_problem(anon.get(f"/v1/registrations/{registration['id']}/badge.svg"), 401)


def test_rotation_revokes_the_old_code(anon):
    setup = event_with_staff(anon.client)
    attendee = new_user(anon.client)
    registration = register(attendee, setup.event_id)
    before = attendee.get(f"/v1/registrations/{registration['id']}/badge.png").headers["ETag"]
    rotated = attendee.post(f"/v1/registrations/{registration['id']}/badge/rotate")
    assert rotated.status_code == 200
    new_code = rotated.get_json()["badge_code"]
    assert new_code != registration["badge_code"]
    after = attendee.get(
        f"/v1/registrations/{registration['id']}/badge.png", headers={"If-None-Match": before}
    )
    assert after.status_code == 200 and after.headers["ETag"] != before
    assert_problem(setup.scan(registration["badge_code"]), 409, "badge_revoked")
    assert setup.scan(new_code).status_code == 201


def test_rotation_by_organizer_but_not_staff_or_strangers(anon):
    setup = event_with_staff(anon.client)
    registration = register(new_user(anon.client), setup.event_id)
    path = f"/v1/registrations/{registration['id']}/badge/rotate"
    assert_problem(setup.staff.post(path), 403)
    assert_problem(new_user(anon.client).post(path), 404)
    assert setup.organizer.post(path).status_code == 200


def test_cancelled_registration_has_no_badge(anon):
    setup = event_with_staff(anon.client)
    attendee = new_user(anon.client)
    registration = register(attendee, setup.event_id)
    attendee.delete(f"/v1/registrations/{registration['id']}")
    assert_problem(
        attendee.get(f"/v1/registrations/{registration['id']}/badge.png"),
        409,
        "registration_cancelled",
    )
    assert_problem(attendee.post(f"/v1/registrations/{registration['id']}/badge/rotate"), 409)
