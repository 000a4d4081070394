-- POST /login with the right password from a browser the account knows (its device cookie
-- sent), as people signing in do: each request one argon2 verification and a new session.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "tessera_csrf=" .. os.getenv("BENCH_CSRF_COOKIE")
  .. "; tessera_device=" .. os.getenv("BENCH_DEVICE_COOKIE")
wrk.body = "csrf_token=" .. os.getenv("BENCH_CSRF_TOKEN")
  .. "&username=admin&password=" .. string.gsub(os.getenv("BENCH_PASSWORD"), " ", "+")
