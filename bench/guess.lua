-- POST /login with a wrong password, as a password-guessing script would: one CSRF cookie
-- and token fetched beforehand, each request a new guess at one account.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "tessera_csrf=" .. os.getenv("BENCH_CSRF_COOKIE")
local token = os.getenv("BENCH_CSRF_TOKEN")
local n = 0

request = function()
  n = n + 1
  return wrk.format(nil, nil, nil,
    "csrf_token=" .. token .. "&username=admin&password=guess-number-" .. n)
end
