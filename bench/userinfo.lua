-- GET /userinfo with a user's access token: signature check, one read for the grant and
-- revocation state, then the user's claims.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_USER_TOKEN")
