from tests.support import assert_problem, new_user, unique_email


def test_register_returns_user_and_token(anon):
    email = unique_email()
    response = anon.post(
        "/v1/auth/register",
        json={
            "email": email.upper(),
            "password": "a long password",
            "display_name": "Ada",
            "timezone": "Europe/Berlin",
        },
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["user"]["email"] == email
    assert body["user"]["timezone"] == "Europe/Berlin"
    assert body["user"]["share"] == {
        "email": False,
        "company": True,
        "title": True,
        "headline": True,
    }
    assert body["user"]["quiet_hours"] == {"start": "21:00", "end": "08:00"}
    assert len(body["access_token"]) >= 40
    assert "password" not in body["user"]
    me = anon.client.get("/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.get_json()["id"] == body["user"]["id"]


def test_register_twice_with_the_same_email_is_409(anon):
    email = unique_email()
    body = {"email": email, "password": "a long password", "display_name": "Ada"}
    assert anon.post("/v1/auth/register", json=body).status_code == 201
    assert_problem(
        anon.post("/v1/auth/register", json={**body, "email": email.upper()}), 409, "email_taken"
    )


def test_register_validates_input(anon):
    body = assert_problem(
        anon.post(
            "/v1/auth/register",
            json={
                "email": "not-an-email",
                "password": "short",
                "display_name": "",
                "timezone": "Mars/Olympus",
            },
        ),
        422,
        "validation_failed",
    )
    assert set(body["errors"]) == {"email", "password", "display_name", "timezone"}


def test_malformed_json_is_400(anon):
    response = anon.client.post(
        "/v1/auth/register", data="{not json", content_type="application/json"
    )
    assert_problem(response, 400)


def test_login_with_right_and_wrong_password(anon):
    user = new_user(anon.client)
    ok = anon.post("/v1/auth/login", json={"email": user.email, "password": user.password})
    assert ok.status_code == 200
    assert ok.get_json()["access_token"] != user.token
    wrong = anon.post("/v1/auth/login", json={"email": user.email, "password": "nope nope nope"})
    unknown = anon.post("/v1/auth/login", json={"email": unique_email(), "password": "x" * 12})
    wrong_body = assert_problem(wrong, 401, "invalid_credentials")
    unknown_body = assert_problem(unknown, 401, "invalid_credentials")
    # Never reveal whether the email exists: same answer apart from the request id.
    for body in (wrong_body, unknown_body):
        body.pop("request_id")
    assert wrong_body == unknown_body


def test_failed_logins_are_limited_per_account_with_retry_after(anon):
    user = new_user(anon.client)
    for _ in range(5):
        response = anon.post("/v1/auth/login", json={"email": user.email, "password": "w" * 12})
        assert response.status_code == 401
    limited = anon.post("/v1/auth/login", json={"email": user.email, "password": user.password})
    assert_problem(limited, 429)
    assert int(limited.headers["Retry-After"]) > 0
    # Another account from the same address is not locked by this one's failures.
    other = new_user(anon.client)
    assert (
        anon.post(
            "/v1/auth/login", json={"email": other.email, "password": other.password}
        ).status_code
        == 200
    )


def test_successful_logins_do_not_count_against_the_limit(anon):
    user = new_user(anon.client)
    for _ in range(8):
        response = anon.post(
            "/v1/auth/login", json={"email": user.email, "password": user.password}
        )
        assert response.status_code == 200


def test_failed_logins_are_limited_per_ip(app, anon):
    app.config["LOGIN_FAILURES_PER_IP"] = "3 per 15 minutes"
    try:
        for _ in range(3):
            anon.post("/v1/auth/login", json={"email": unique_email(), "password": "w" * 12})
        assert_problem(
            anon.post("/v1/auth/login", json={"email": unique_email(), "password": "w" * 12}), 429
        )
    finally:
        app.config["LOGIN_FAILURES_PER_IP"] = "50 per 15 minutes"


def test_registrations_are_limited_per_ip(app, anon):
    saved = app.config["REGISTRATIONS_PER_IP"]
    app.config["REGISTRATIONS_PER_IP"] = "3 per minute"
    try:
        for _ in range(3):
            new_user(anon.client)
        body = {"email": unique_email(), "password": "p" * 12, "display_name": "Fourth"}
        limited = anon.post("/v1/auth/register", json=body)
        assert_problem(limited, 429)
        assert int(limited.headers["Retry-After"]) > 0
        # Refused before anything was stored: that account does not exist.
        login = anon.post(
            "/v1/auth/login", json={"email": body["email"], "password": body["password"]}
        )
        assert login.status_code == 401
    finally:
        app.config["REGISTRATIONS_PER_IP"] = saved


def test_logout_revokes_only_that_token(anon):
    user = new_user(anon.client)
    second = anon.post(
        "/v1/auth/login", json={"email": user.email, "password": user.password}
    ).get_json()
    assert user.post("/v1/auth/logout").status_code == 204
    assert_problem(user.get("/v1/me"), 401, "invalid_token")
    other = anon.client.get("/v1/me", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert other.status_code == 200


def test_missing_or_garbage_token_is_401(anon):
    assert_problem(anon.get("/v1/me"), 401)
    response = anon.client.get("/v1/me", headers={"Authorization": "Bearer garbage"})
    assert_problem(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_patch_profile_fields_sharing_and_quiet_hours(anon, clock):
    user = new_user(anon.client)
    response = user.patch(
        "/v1/me",
        json={
            "headline": "Data engineer who loves pipelines",
            "company": "Acme",
            "title": "Engineer",
            "timezone": "America/New_York",
            "quiet_hours": {"start": "22:00", "end": "07:30"},
            "share": {"email": True, "company": False},
        },
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["company"] == "Acme"
    assert body["timezone"] == "America/New_York"
    assert body["quiet_hours"] == {"start": "22:00", "end": "07:30"}
    assert body["share"] == {"email": True, "company": False, "title": True, "headline": True}
    assert body["hints"] == []
    assert user.get("/v1/me").get_json()["share"]["email"] is True


def test_patch_profile_rejects_bad_values_and_changes_nothing(anon):
    user = new_user(anon.client)
    before = user.get("/v1/me").get_json()
    body = assert_problem(
        user.patch(
            "/v1/me",
            json={
                "timezone": "Europe/Atlantis",
                "quiet_hours": {"start": "25:00", "end": "8"},
                "company": "New Co",
            },
        ),
        422,
    )
    assert {"timezone", "quiet_hours"} <= set(body["errors"])
    assert user.get("/v1/me").get_json() == before


def test_patch_profile_hints_on_a_past_tense_intro(anon):
    user = new_user(anon.client)
    body = user.patch("/v1/me", json={"headline": "I was a product manager at Foo"}).get_json()
    assert [h["code"] for h in body["hints"]] == ["intro_lead_with_present"]
    laid_off = user.patch("/v1/me", json={"headline": "Laid off, looking for work"}).get_json()
    assert [h["code"] for h in laid_off["hints"]] == ["intro_lead_with_present"]
