-- GET /userinfo with a client_credentials token: the full verification path, answered 401
-- because the token has no user. The code-flow scenario measures userinfo with a user token.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
