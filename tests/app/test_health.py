from tests.support import assert_problem


def test_health_answers_ok_with_the_database_reachable(anon):
    response = anon.get("/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["X-Request-ID"]


def test_ready_says_migrations_are_at_head(anon):
    assert anon.get("/v1/ready").get_json() == {"status": "ok"}


def test_unknown_path_is_a_problem_404(anon):
    assert_problem(anon.get("/v1/nope"), 404, "not_found")


def test_wrong_method_is_a_problem_405(anon):
    body = assert_problem(anon.client.put("/v1/health"), 405, "method_not_allowed")
    assert body["request_id"]
